"""FHIR R4 resources from a real `rxgate serve`, validated by an independent implementation:
the `fhir.resources` models (6.2.2, FHIR 4.0.1; pydantic 1). That package cannot share a
virtualenv with the MCP client (pydantic 2), so scripts/test runs this file in
`.cache/venv-fhir` (tests/e2e/requirements-fhir.txt); under the MCP venv it is skipped.

A bundle goes in as an EHR would send it, is verified, approved and dispensed by a
pharmacist, and every resource the server then serves must validate as R4.
"""

import csv
import json
import os
import pathlib
import subprocess
import tempfile
import urllib.error
import urllib.request

import pytest

fhir = pytest.importorskip("fhir.resources", reason="FHIR validator venv only (.cache/venv-fhir)")

from conftest import ROOT, rxgate_bin  # noqa: E402

SECRET = "e2e-fhir-secret-e2e-fhir-secret-0123"


def model(resource_type: str):
    module = __import__(f"fhir.resources.{resource_type.lower()}", fromlist=[resource_type])
    return getattr(module, resource_type)


def validate(resource: dict) -> None:
    """Raises (pydantic ValidationError) unless `resource` is valid R4 4.0.1."""
    assert fhir.__fhir_version__ == "4.0.1"
    model(resource["resourceType"]).parse_obj(resource)


@pytest.fixture(scope="module")
def server():
    data = tempfile.TemporaryDirectory()
    env = dict(os.environ, RXGATE_JWT_SECRET=SECRET, RXGATE_DATA_DIR=data.name, RUST_LOG="error")
    for var in ("DATABASE_URL", "RXGATE_EHR_URL", "RXGATE_KNOWLEDGE_DIR"):
        env.pop(var, None)
    proc = subprocess.Popen(
        [rxgate_bin(), "serve", "--addr", "127.0.0.1:0", "--demo"],
        env=env, stdout=subprocess.PIPE, text=True, cwd=str(ROOT),
    )
    line = proc.stdout.readline().strip()
    assert line.startswith("rxgate listening on "), line
    base = line.removeprefix("rxgate listening on ")

    def token(role: str) -> str:
        out = subprocess.run(
            [rxgate_bin(), "token", "--role", role, "--sub", f"e2e-{role}"],
            env=env, capture_output=True, text=True, check=True,
        )
        return out.stdout.strip()

    yield base, token
    proc.terminate()
    proc.wait(timeout=10)
    data.cleanup()


def call(base: str, token: str, method: str, path: str, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/fhir+json")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), json.loads(e.read() or b"null")


def amlodipine_barcode() -> str:
    """A GS1 scan of a demo amlodipine 5 mg pack from a lot the demo inventory holds."""
    data = ROOT / "tools" / "knowledge" / "data"
    with open(data / "products.csv") as f:
        gtin = next(r["gtin"] for r in csv.DictReader(f) if r["code"] == "DEMO-AMLO-5-TAB-BO")
    with open(data / "inventory.csv") as f:
        lots = [r for r in csv.DictReader(f) if r["product"] == "DEMO-AMLO-5-TAB-BO"]
    with open(data / "recalls.csv") as f:
        recalled = {r["lot"] for r in csv.DictReader(f) if r["product"] == "DEMO-AMLO-5-TAB-BO"}
    lot = next(r for r in lots if r["lot"] not in recalled)
    yymmdd = lot["expiry"][2:].replace("-", "")
    return f"(01){gtin}(17){yymmdd}(10){lot['lot']}"


BUNDLE = {
    "resourceType": "Bundle", "type": "collection",
    "identifier": {"system": "urn:ehr:orders", "value": "E2E-1"},
    "entry": [
        {"resource": {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1964-05-02"}},
        {"resource": {"resourceType": "AllergyIntolerance", "patient": {"reference": "Patient/p1"},
                      "clinicalStatus": {"coding": [{"code": "active"}]}, "code": {"text": "penicillin"}}},
        {"resource": {"resourceType": "MedicationRequest", "id": "mr1", "status": "active", "intent": "order",
                      "identifier": [{"system": "urn:ehr:mr", "value": "E2E-1-1"}],
                      "subject": {"reference": "Patient/p1"},
                      "medicationCodeableConcept": {"coding": [
                          {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "17767"}]},
                      "dosageInstruction": [{
                          "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                          "doseAndRate": [{"doseQuantity": {"value": 5, "unit": "mg",
                                                            "system": "http://unitsofmeasure.org", "code": "mg"}}]}]}},
    ],
}


def test_every_resource_the_server_serves_is_valid_r4(server):
    base, token = server
    validate(BUNDLE)  # the test's own input is valid R4, so a refusal below is the server's
    doctor, pharmacist = token("physician"), token("pharmacist")

    status, headers, answer = call(base, doctor, "POST", "/fhir/r4/Bundle", BUNDLE)
    assert status == 201, answer
    validate(answer)
    rx_id = int(headers["x-rxgate-rx-id"])

    unmapped = json.loads(json.dumps(BUNDLE))
    unmapped["identifier"]["value"] = "E2E-2"
    unmapped["entry"][2]["resource"]["medicationCodeableConcept"] = {"text": "Zyxomab"}
    status, _, outcome = call(base, doctor, "POST", "/fhir/r4/Bundle", unmapped)
    assert status == 202, outcome
    validate(outcome)

    rx = f"/api/v1/pharmacy/{rx_id}"
    assert call(base, pharmacist, "POST", f"{rx}/verify", {})[0] == 200
    decision = {"line_decisions": [{"line_no": 1, "action": "dispense", "reason": "as prescribed"}]}
    assert call(base, pharmacist, "POST", f"{rx}/approve", decision)[0] == 200
    status, _, dispensed = call(base, pharmacist, "POST", f"{rx}/dispense",
                                {"line_no": 1, "barcode": amlodipine_barcode(), "quantity": 28})
    assert status == 200, dispensed
    dispense_id = dispensed["dispense"]["id"]

    status, _, md = call(base, pharmacist, "GET", f"/fhir/r4/MedicationDispense/{dispense_id}")
    assert status == 200, md
    validate(md)
    assert md["status"] == "completed"
    patient_id = md["subject"]["reference"].split("/")[1]

    for path in [f"/fhir/r4/Patient/{patient_id}", f"/fhir/r4/MedicationRequest/{rx_id}-1",
                 f"/fhir/r4/AllergyIntolerance/{patient_id}-0", "/fhir/r4/Practitioner/e2e-pharmacist"]:
        status, _, resource = call(base, pharmacist, "GET", path)
        assert status == 200, (path, resource)
        validate(resource)

    # A hand-over reversed (entered in error): the same MedicationDispense, still valid R4.
    status, _, reversed_ = call(base, pharmacist, "POST", f"{rx}/reverse-dispense",
                                {"line_no": 1, "reason_code": "entered_in_error", "reason": "wrong patient label"})
    assert status == 200, reversed_
    status, _, md = call(base, pharmacist, "GET", f"/fhir/r4/MedicationDispense/{dispense_id}")
    validate(md)
    assert md["status"] == "entered-in-error"

    # A change of the order (priorPrescription) answers a valid transaction-response.
    change = json.loads(json.dumps(BUNDLE["entry"][2]["resource"]))
    change["identifier"] = [{"system": "urn:ehr:mr", "value": "E2E-1-1b"}]
    change["priorPrescription"] = {"identifier": {"system": "urn:ehr:mr", "value": "E2E-1-1"}}
    validate(change)
    status, _, answer = call(base, doctor, "POST", "/fhir/r4/MedicationRequest", change)
    assert status == 200, answer
    validate(answer)

    status, _, missing = call(base, pharmacist, "GET", "/fhir/r4/Patient/999999")
    assert status == 404
    validate(missing)
