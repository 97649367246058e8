#!/usr/bin/env python3
"""Writes the three *.hidrec streams from the byte-level report formats of each scanner
style (HID 1.11 keyboard boot report; the Honeywell/Zebra HID POS scanned-data report).

The streams model what the scanners send, quirks included: shift pressed in its own report
before the key, key rollover (the next key down before the last is up), an ErrorRollOver
report, doubled characters released in between, Ctrl+] for GS, continuation reports for a
long 2D code. Run it again only when the format changes; the tests assert the decoded
text against literals, not against this script.
"""
import pathlib

HERE = pathlib.Path(__file__).parent
GS = "\x1d"

KEYS = {c: 0x04 + i for i, c in enumerate("abcdefghijklmnopqrstuvwxyz")}
KEYS.update({c: 0x1E + i for i, c in enumerate("1234567890")})
SHIFTED = {c: 0x1E + i for i, c in enumerate("!@#$%^&*()")}
PUNCT = {"]": 0x30, "[": 0x2F, "-": 0x2D, "/": 0x38, ".": 0x37, " ": 0x2C}
SHIFTED_PUNCT = {"}": 0x30, "{": 0x2F, "~": 0x35, "_": 0x2D, "?": 0x38, ">": 0x37, "<": 0x36}
ENTER = 0x28


def kb(mod, keys):
    keys = list(keys) + [0] * (6 - len(keys))
    return " ".join(f"{b:02x}" for b in [mod, 0] + keys)


def key_of(c):
    if c == GS:
        return 0x01, 0x30  # left ctrl + ]
    if c in KEYS:
        return 0, KEYS[c]
    if c.lower() in KEYS:
        return 0x02, KEYS[c.lower()]
    if c in SHIFTED:
        return 0x02, SHIFTED[c]
    if c in PUNCT:
        return 0, PUNCT[c]
    if c in SHIFTED_PUNCT:
        return 0x02, SHIFTED_PUNCT[c]
    raise ValueError(repr(c))


def typed(text, rollover_every=0):
    """Keyboard reports for `text` then Enter. Every `rollover_every`-th key goes down
    while the one before is still held (when both need the same modifiers)."""
    out = []
    held = None  # (mod, key) still down from the previous character
    for i, c in enumerate(text):
        mod, key = key_of(c)
        roll = bool(rollover_every) and i % rollover_every == 1 and held and held[0] == mod and held[1] != key
        if held and not roll:
            out.append(kb(held[0], []))  # release (so a doubled character types twice)
            if held[0]:
                out.append(kb(0, []))
            held = None
        if roll:
            out.append(kb(mod, [held[1], key]))  # next key down while the last is held
            out.append(kb(mod, [key]))
        else:
            if mod:
                out.append(kb(mod, []))  # modifier down on its own first, as scanners do
            out.append(kb(mod, [key]))
        held = (mod, key)
    if held:
        out.append(kb(held[0], []))
        if held[0]:
            out.append(kb(0, []))
    out.append(kb(0, [ENTER]))
    out.append(kb(0, []))
    return out


def pos_reports(aim, data):
    """HID POS scanned-data reports (id 2, 64 bytes) for `data` with AIM id `aim`."""
    raw = data.encode("ascii")
    chunks = [raw[i:i + 56] for i in range(0, len(raw), 56)] or [b""]
    out = []
    for n, chunk in enumerate(chunks):
        r = bytearray(64)
        r[0] = 0x02
        r[1] = len(chunk)
        r[2:5] = aim.encode("ascii") if n == 0 else b"\0\0\0"
        r[5:5 + len(chunk)] = chunk
        r[61] = 0x77 if aim.startswith("]d") else 0x49  # vendor code id (Honeywell: w, I)
        r[63] = 1 if n < len(chunks) - 1 else 0
        out.append(" ".join(f"{b:02x}" for b in r))
    return out


OMEPRAZOLE_LO = "0102951793913177" + "10DL24K570" + GS + "17280331"
AMLODIPINE_BO = "0102954817321484" + "17270531" + "10DL25D406"


def write(name, header, lines):
    (HERE / name).write_text("\n".join(header + lines) + "\n")


# 1. Keyboard wedge, US layout (Zebra DS2208 in USB HID keyboard mode, 05e0:1200), AIM id
#    transmission on, GS as Ctrl+]. The wrong pack first, then the right one.
lines = ["# scan 1: ]C1 amlodipine 5 mg Borneo (the wrong pack for an omeprazole line)"]
lines += typed("]C1" + AMLODIPINE_BO, rollover_every=5)
lines += ["wait 1500", "# a burst of ghosting keys: the keyboard reports ErrorRollOver", kb(0, [1] * 6), kb(0, [])]
lines += ["# scan 2: ]C1 omeprazole 20 mg Losec, lot before expiry (so a GS ends the lot)"]
lines += typed("]C1" + OMEPRAZOLE_LO, rollover_every=7)
write("wedge-us.hidrec", [
    "# Keyboard-wedge scanner, US layout: Zebra DS2208 (05e0:1200) in USB HID keyboard mode,",
    "# AIM symbology id transmitted, FNC1 sent as Ctrl+] (GS). Written by make_recordings.py.",
    "!format keyboard",
], lines)

# 2. HID POS (Honeywell Voyager 1470g, 0c2e:0b8f in HID POS mode), AIM id in the report.
long_dm = "0102951793913177" + "17280331" + "10DL24K570" + GS + "21" + "SN" + "7" * 30 + GS + "240" + "OMEP-20-CAP"
lines = ["# scan 1: GS1-128 ]C1 omeprazole 20 mg Losec"]
lines += pos_reports("]C1", OMEPRAZOLE_LO)
lines += ["wait 800", "# a status report of the same collection (report id 4): no scan", "04 01 00 00"]
lines += ["# scan 2: GS1 DataMatrix ]d2 with a serial, longer than one report (continuation)"]
lines += pos_reports("]d2", long_dm)
lines += ["wait 800", "# scan 3: ]C1 amlodipine 5 mg Borneo"]
lines += pos_reports("]C1", AMLODIPINE_BO)
write("hidpos-aim.hidrec", [
    "# HID POS scanner (usage page 0x8C): Honeywell Voyager 1470g (0c2e:0b8f) in HID POS mode.",
    "# Scanned-data reports: id 2, length, AIM id, 56 data bytes, code id, reserved, continuation.",
    "# Written by make_recordings.py.",
    "!format hid-pos",
], lines)

# 3. Keyboard wedge with a programmed prefix and suffix and a printable GS stand-in
#    (Datalogic QuickScan QD2430, 05f9:2206): prefix "{", suffix "}", GS sent as "~",
#    AIM id off.
lines = ["# scan 1: {omeprazole 20 mg Losec with ~ for GS}"]
lines += typed("{" + OMEPRAZOLE_LO.replace(GS, "~") + "}", rollover_every=4)
lines += ["wait 600", "# scan 2: a partial read with no prefix (the trigger released early): dropped"]
lines += typed("17270531" + "10DL25D406" + "}")
lines += ["wait 600", "# scan 3: {amlodipine 5 mg Borneo}"]
lines += typed("{" + AMLODIPINE_BO + "}")
write("wedge-framed.hidrec", [
    "# Keyboard-wedge scanner with prefix/suffix: Datalogic QuickScan QD2430 (05f9:2206),",
    "# programmed prefix `{`, suffix `}`, GS sent as `~`, AIM id off. Written by make_recordings.py.",
    "!format keyboard",
    "!prefix {",
    "!suffix }",
    "!gs-substitute ~",
], lines)
