"""`regimen_eval` through the official MCP Python client: doses, hard stops and holds come back
as structured results that validate against the published outputSchema."""

import asyncio

import jsonschema
from mcp import Client

ADULT = {"age_years": 50, "weight_kg": 70, "height_cm": 170,
         "labs": {"anc_10e9_l": 2.0, "platelets_10e9_l": 200, "bilirubin_umol_l": 10, "crcl_ml_min": 90}}


async def evaluate(server_params, args):
    async with Client(server_params) as client:
        listed = await client.list_tools()
        tool = next(t for t in listed.tools if t.name == "regimen_eval")
        assert tool.input_schema.get("type") == "object"
        assert tool.annotations and tool.annotations.read_only_hint is True
        result = await client.call_tool("regimen_eval", args)
        assert not result.is_error, result.content
        assert result.content[0].type == "text" and result.content[0].text.strip()
        jsonschema.validate(result.structured_content, tool.output_schema)
        return result.structured_content, result.content[0].text


def test_chop_doses_with_vincristine_capped(server_params):
    out, _ = asyncio.run(evaluate(server_params, {"regimen": "CHOP", "cycle": 1, "day": 1, "patient": ADULT}))
    doses = {d["drug"]: d["dose"]["value"] for d in out["doses"]}
    assert doses == {"cyclophosphamide": 1365, "doxorubicin": 91, "vincristine": 2, "prednisolone": 100}
    assert out["hard_stops"] == [] and out["holds"] == []
    assert "two_person_verify" in out["requires"]


def test_vincristine_in_a_syringe_is_a_hard_stop(server_params):
    args = {"regimen": "CHOP", "cycle": 1, "day": 1, "patient": ADULT,
            "orders": [{"drug": "vincristine", "route": "iv", "container": "syringe", "dose": {"value": 2, "unit": "mg"}}]}
    out, text = asyncio.run(evaluate(server_params, args))
    stop = next(h for h in out["hard_stops"] if h["code"] == "vinca_syringe")
    assert stop["message"] == "Vinca must be minibag — safety stop"
    assert "override_by" not in stop
    assert "HARD STOP" in text


def test_calvert_caps_gfr_and_an_inline_definition_is_accepted(server_params):
    definition = {"id": "carbo-inline", "name": "carboplatin AUC 5", "cycle_length_days": 21,
                  "drugs": [{"drug": "carboplatin", "route": "iv", "days": [1],
                             "dose": {"method": "calvert", "target_auc": 5, "unit": "mg", "gfr_cap_ml_min": 125}}]}
    patient = dict(ADULT, labs=dict(ADULT["labs"], crcl_ml_min=160))
    out, _ = asyncio.run(evaluate(server_params, {"regimen": definition, "cycle": 1, "day": 1, "patient": patient}))
    assert out["doses"][0]["dose"]["value"] == 750
    assert out["definition_problems"] == []
