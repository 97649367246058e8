"""`rxgate mcp` answers a real MCP client (the official Python SDK) with every tool of the
contract, and each answer is a structured result that validates against the tool's
published outputSchema, plus a short text summary."""

import asyncio

import jsonschema
import pytest
from mcp import Client

CONTRACT_TOOLS = {"ddi_check", "allergy_check", "halal_filter", "barcode_verify", "generic_suggest", "stock_check", "solver", "dose_calc", "verify_prescription"}


def run(coro):
    return asyncio.run(coro)


async def with_client(server_params, fn):
    async with Client(server_params) as client:
        return await fn(client)


async def call(client, tools, name, args):
    """Calls a tool and checks the result against the contract before returning it."""
    result = await client.call_tool(name, args)
    assert not result.is_error, f"{name} returned a tool error: {result.content}"
    assert result.structured_content is not None, f"{name} returned no structuredContent"
    assert result.content and result.content[0].type == "text" and result.content[0].text.strip(), f"{name} has no text summary"
    jsonschema.validate(result.structured_content, tools[name].output_schema)
    knowledge = result.structured_content["knowledge"]
    assert knowledge["version"] and len(knowledge["hash"]) == 64
    return result.structured_content


async def tool_map(client):
    listed = await client.list_tools()
    return {t.name: t for t in listed.tools}


def test_server_identifies_itself_and_lists_every_contract_tool(server_params):
    async def go(client):
        info = client.server_info
        assert info.name == "rxgate"
        assert info.version
        tools = await tool_map(client)
        assert CONTRACT_TOOLS <= set(tools)
        for name in CONTRACT_TOOLS:
            t = tools[name]
            assert t.input_schema.get("type") == "object", name
            assert t.output_schema and t.output_schema.get("type") == "object", name
            assert t.annotations and t.annotations.read_only_hint is True, name
            assert t.description, name

    run(with_client(server_params, go))


def test_amlodipine_with_clarithromycin_is_major_and_offers_azithromycin(server_params):
    async def go(client):
        tools = await tool_map(client)
        out = await call(client, tools, "ddi_check", {"drugs": ["amlodipine", "clarithromycin"]})
        assert out["highest_severity"] in ("major", "contraindicated")
        pair = [i for i in out["interactions"] if set(i["drugs"]) == {"amlodipine", "clarithromycin"}]
        assert pair, out
        assert "azithromycin" in pair[0]["alternatives"]
        assert pair[0]["sources"]
        # The same through the patient's active medications.
        out = await call(client, tools, "ddi_check", {"drugs": ["clarithromycin"], "patient": {"active_medications": ["Norvasc"]}})
        assert out["highest_severity"] in ("major", "contraindicated")

    run(with_client(server_params, go))


def test_unknown_drug_is_reported_never_treated_as_safe(server_params):
    async def go(client):
        tools = await tool_map(client)
        out = await call(client, tools, "ddi_check", {"drugs": ["amlodipine", "zzqx-not-a-drug"]})
        assert out["unknown"] == ["zzqx-not-a-drug"]
        result = await client.call_tool("ddi_check", {"drugs": ["zzqx-not-a-drug"]})
        assert "NOT CHECKED" in result.content[0].text

    run(with_client(server_params, go))


def test_penicillin_allergy_flags_amoxicillin(server_params):
    async def go(client):
        tools = await tool_map(client)
        out = await call(client, tools, "allergy_check", {"drugs": ["amoxicillin"], "allergies": ["penicillin"]})
        assert out["alerts"][0]["kind"] == "same_class"
        assert out["alerts"][0]["severity"] in ("major", "contraindicated")

    run(with_client(server_params, go))


def test_halal_filter_discloses_excipient_source(server_params):
    async def go(client):
        tools = await tool_map(client)
        out = await call(
            client,
            tools,
            "halal_filter",
            {"ingredients": [{"name": "gelatin", "source": "porcine"}], "preference": "halal_only"},
        )
        r = out["results"][0]
        assert r["status"] == "non_halal"
        assert r["concerns"][0]["ingredient"] == "gelatin" and r["concerns"][0]["source"] == "porcine"
        assert r["blocking"] is True

    run(with_client(server_params, go))


def test_barcode_swap_is_detected(server_params):
    async def go(client):
        tools = await tool_map(client)
        stock = await call(client, tools, "stock_check", {"drug": "amlodipine", "today": "2026-11-23"})
        by_code = {p["product"]: p for p in stock["products"]}
        five, ten = by_code["DEMO-AMLO-5-TAB-NV"], by_code["DEMO-AMLO-10-TAB-NV"]
        lot = next(l for l in ten["lots"] if not l["expired"] and not l["recalled"])
        yymmdd = lot["expiry"][2:4] + lot["expiry"][5:7] + lot["expiry"][8:10]
        scan = f"]d2\u001d01{ten['gtin']}17{yymmdd}10{lot['lot']}"
        # 10 mg in hand, 5 mg on the prescription: a swap.
        out = await call(client, tools, "barcode_verify",
                         {"scan": scan, "expected": {"product": "DEMO-AMLO-5-TAB-NV"}, "today": "2026-11-23"})
        assert out["match"] is False and "wrong_product" in out["problems"]
        assert out["parsed"]["gtin"] == ten["gtin"] and out["parsed"]["lot"] == lot["lot"]
        # The right pack matches, by product code and by GTIN; bracketed form works too.
        out = await call(client, tools, "barcode_verify",
                         {"scan": scan, "expected": {"gtin": ten["gtin"]}, "today": "2026-11-23"})
        assert out["match"] is True, out
        bracketed = f"(01){ten['gtin']}(17){yymmdd}(10){lot['lot']}"
        out = await call(client, tools, "barcode_verify",
                         {"scan": bracketed, "expected": {"product": "DEMO-AMLO-10-TAB-NV"}, "today": "2026-11-23"})
        assert out["match"] is True, out
        assert five["gtin"] != ten["gtin"]

    run(with_client(server_params, go))


def test_bad_input_is_a_tool_error_naming_the_field(server_params):
    async def go(client):
        result = await client.call_tool("ddi_check", {"drugs": "amlodipine"})
        assert result.is_error
        assert "drugs" in result.content[0].text
        result = await client.call_tool("barcode_verify", {"scan": "(01)123", "expected": {}})
        assert result.is_error
        assert "expected" in result.content[0].text

    run(with_client(server_params, go))


def test_solver_fills_in_a_paediatric_order_exactly(server_params):
    async def go(client):
        tools = await tool_map(client)
        out = await call(client, tools, "solver", {
            "variables": {
                "dose": {"unit": "mg"},
                "conc": {"unit": "mg/mL", "values": [24]},
                "per_kg": {"unit": "mg/kg", "values": ["15"]},
                "weight": {"unit": "kg", "values": [8]},
                "volume": {"unit": "mL"},
            },
            "equations": ["dose = per_kg * weight", "dose = conc * volume"],
        })
        assert out["status"] == "solved"
        assert out["variables"]["dose"]["values"] == [{"value": 120.0, "exact": "120"}]
        assert out["variables"]["volume"]["values"][0]["exact"] == "5"
        # Exact thirds survive the round trip.
        out = await call(client, tools, "solver", {
            "variables": {"x": {"unit": "mL", "values": ["10/3"]}, "y": {"unit": "mL", "values": [1]}},
            "equations": ["z = x + y"],
        })
        assert out["variables"]["z"]["values"][0]["exact"] == "13/3"
        # GenPRES notebook: b in <0..5> and a = 10 with a = b is infeasible, naming the variable.
        out = await call(client, tools, "solver", {
            "variables": {"b": {"min": 0, "max": 5, "min_inclusive": False, "max_inclusive": False}, "a": {"values": [10]}},
            "equations": ["a = b"],
        })
        assert out["status"] == "infeasible" and out["conflict"]
        # Adding mass to volume is refused with a precise message.
        result = await client.call_tool("solver", {"variables": {"x": {"unit": "mg"}, "y": {"unit": "mL"}}, "equations": ["x = y + y"]})
        assert result.is_error and "units do not balance" in result.content[0].text

    run(with_client(server_params, go))


def test_verify_prescription_runs_every_check_and_blocks(server_params):
    async def go(client):
        tools = await tool_map(client)
        out = await call(client, tools, "verify_prescription", {
            "patient": {"age_years": 70, "weight_kg": 60, "sex": "male", "allergies": ["penicillin"],
                        "active_medications": ["amlodipine"], "halal_preference": "halal_only"},
            "items": [
                {"line_no": 1, "drug": "clarithromycin", "dose": {"value": 500, "unit": "mg"}, "frequency": "bd", "route": "oral"},
                {"line_no": 2, "drug": "amoxicillin", "dose": {"value": 500, "unit": "mg"}, "frequency": "tds", "route": "oral"},
                {"line_no": 3, "drug": "DEMO-OMEP-20-CAP-SL", "dose": {"value": 20, "unit": "mg"}, "frequency": "od", "route": "oral"},
            ],
        })
        assert out["blocking"] is True
        assert out["highest_severity"] in ("major", "contraindicated")
        assert any(set(i["drugs"]) == {"amlodipine", "clarithromycin"} for i in out["ddi_alerts"])
        assert any(a["generic"] == "amoxicillin" for a in out["allergy_alerts"])
        assert any(h.get("product") == "DEMO-OMEP-20-CAP-SL" and h["blocking"] for h in out["halal_flags"])
        lines = {l["line_no"]: l for l in out["lines"]}
        assert lines[1]["blocking"] and lines[2]["blocking"] and lines[3]["blocking"]

        # The infant on paracetamol: 200 mg for 8 kg is an overdose, 120 mg is not.
        infant = {"age_days": 240, "weight_kg": 8}
        over = await call(client, tools, "verify_prescription", {"patient": infant, "items": [
            {"line_no": 1, "drug": "paracetamol", "dose": {"value": 200, "unit": "mg"}, "frequency": "q6h", "route": "oral"}]})
        assert over["blocking"] and over["dose_warnings"][0]["result"]["verdict"] == "overdose"
        assert over["dose_warnings"][0]["result"]["per_dose"]["max"]["value"] == 120
        fine = await call(client, tools, "dose_calc", {"drug": "paracetamol", "route": "oral", "dose": {"value": 120, "unit": "mg"},
                                                       "frequency": "q6h", "patient": infant})
        assert fine["verdict"] == "ok"
        assert fine["per_dose"]["min"]["value"] == 80 and fine["per_dose"]["max"]["value"] == 120

    run(with_client(server_params, go))
