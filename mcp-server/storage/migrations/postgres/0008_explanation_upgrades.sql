-- Template-first explanations (issue 7), PostgreSQL flavour. Kept in step with
-- ../sqlite/0008_explanation_upgrades.sql (see there for what the column means).
ALTER TABLE explanations ADD COLUMN upgraded_at TIMESTAMPTZ;

CREATE FUNCTION rxgate_explanations_upgrade_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.source = 'template' AND NEW.source = 'llm'
       AND OLD.upgraded_at IS NULL AND NEW.upgraded_at IS NOT NULL
       AND NEW.id = OLD.id AND NEW.rx_id = OLD.rx_id AND NEW.verification_id = OLD.verification_id
       AND NEW.finding_key = OLD.finding_key AND NEW.language = OLD.language
       AND NEW.audience = OLD.audience AND NEW.facts_hash = OLD.facts_hash
       AND NEW.created_at = OLD.created_at THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'explanations: only a template may be replaced, by model text, once'
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$;

CREATE TRIGGER explanations_upgrade_only BEFORE UPDATE ON explanations
    FOR EACH ROW EXECUTE FUNCTION rxgate_explanations_upgrade_only();
