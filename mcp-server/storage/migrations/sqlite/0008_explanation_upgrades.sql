-- Template-first explanations (issue 7), SQLite flavour. Kept in step with
-- ../postgres/0008_explanation_upgrades.sql. (0007 is taken by other work in progress.)

-- The explainer agent posts the vetted template at once and the model's text later; a model
-- text the server's guard accepted replaces the template in place (same row, same id), once.
-- `upgraded_at` is when that happened: NULL while the row still holds the text it was
-- created with. It also tells the writer, exactly and on both backends, whether its own
-- upsert inserted the row or upgraded it, which `RETURNING` alone cannot.
ALTER TABLE explanations ADD COLUMN upgraded_at TEXT;

-- The upgrade is the only change a stored explanation may undergo: the database refuses
-- anything else (a model text replaced, a template written over a model text, a row moved to
-- another finding or other facts), whoever issues the UPDATE.
CREATE TRIGGER explanations_upgrade_only BEFORE UPDATE ON explanations
WHEN NOT (OLD.source = 'template' AND NEW.source = 'llm'
          AND OLD.upgraded_at IS NULL AND NEW.upgraded_at IS NOT NULL
          AND NEW.id = OLD.id AND NEW.rx_id = OLD.rx_id AND NEW.verification_id = OLD.verification_id
          AND NEW.finding_key = OLD.finding_key AND NEW.language = OLD.language
          AND NEW.audience = OLD.audience AND NEW.facts_hash = OLD.facts_hash
          AND NEW.created_at = OLD.created_at)
BEGIN
    SELECT RAISE(ABORT, 'explanations: only a template may be replaced, by model text, once');
END;
