"""Recovery through every supported format: one simulated log, exported as a generic
CSV, a VICIdial vicidial_log and a HubSpot-style CRM export, each fitted; every
parameter the format can inform must be covered by its 95% interval."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from scipy.stats import binom, norm

from sim.calibration.adapters import from_dialsim
from sim.calibration.pipeline import fit_log, load_log
from tests.test_calibration_recovery import TRUTH, reachability_truths, simulate_log, truths

TEAM_OFFSET_H = -5


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("formats")
    path = simulate_log(tmp, seed=11)
    table, _context = from_dialsim(pq.read_table(path), path)
    utc_s = pc.cast(table.column("start_time"), pa.int64()).to_numpy() / 1e6
    utc_s = np.floor(utc_s)  # exports keep whole seconds
    local = pa.array((utc_s + TEAM_OFFSET_H * 3600).astype(np.int64), type=pa.timestamp("s"))
    stamp = pc.strftime(local, format="%Y-%m-%dT%H:%M:%S")
    outcome = np.asarray(table.column("outcome").to_pylist(), dtype=object)
    direction = np.asarray(table.column("direction").to_pylist(), dtype=object)
    return tmp, table, utc_s, stamp, outcome, direction


def covered(fit, keys: dict[str, float]) -> dict[str, bool]:
    """Key -> 95% interval covers the truth. Every key must also lie within twice its
    interval's half-width on the truth's side (about 3.9 standard errors: missed by
    chance with probability ~1e-4), so one grossly wrong mapping cannot hide among
    the chance misses the 95% count allows."""
    out = {}
    for key, value in keys.items():
        est = fit.estimate(key)
        assert est is not None, key
        far = est.value + 2 * (est.high - est.value) if value > est.value else est.value - 2 * (est.value - est.low)
        assert min(est.value, far) <= value <= max(est.value, far), (key, value, est.low, est.high)
        out[key] = est.low <= value <= est.high
    return out


def live_product_truth(fit) -> float:
    """reachability x p_pickup x P(ring < timeout) at the fit's reference hour: what a
    log identifies when the ring distribution is not in it."""
    seg = TRUTH["prospects"]["segments"][0]
    ring = TRUTH["dialer"]["ring_delay_s"]
    p_ring = norm.cdf(np.log(TRUTH["dialer"]["ring_timeout_s"] / ring["median"]) / ring["sigma"])
    note = fit.estimate("prospects.hourly_availability").note
    hour = int(note.split("reference hour ")[1][:2])
    return seg["reachability"] * seg["p_pickup"] * p_ring * TRUTH["prospects"]["hourly_availability"][hour]


def fitted_live_product(fit) -> tuple[float, float, float]:
    est = fit.estimate("prospects.segments.0.reachability")
    pickup = next((s.value for s in fit.settings if s.key.endswith("p_pickup")), 0.25)
    p_ring = float(est.note.split("P(ring delay < timeout) = ")[1].split(":")[0])
    scale = pickup * p_ring
    return est.value * scale, est.low * scale, est.high * scale


def assert_coverage(result: dict[str, bool]) -> None:
    misses = [k for k, ok in result.items() if not ok]
    assert binom.sf(len(misses) - 1, len(result), 0.05) > 0.01, misses


def test_generic_csv(exported):
    tmp, table, _utc, stamp, _o, _d = exported
    zone = pa.array([f"{TEAM_OFFSET_H:+03d}:00"] * len(table))
    out = pa.table({
        "prospect_id": pc.cast(table.column("prospect_id"), pa.string()),
        "rep_id": pc.cast(table.column("rep_id"), pa.string()),
        "start_time": pc.binary_join_element_wise(stamp, zone, ""),
        "direction": table.column("direction"), "outcome": table.column("outcome"),
        "ring_s": pc.round(table.column("ring_s"), 2), "talk_s": pc.round(table.column("talk_s"), 2),
        "wrap_s": table.column("wrap_s"), "message_id": table.column("message_id"),
        "attempt": table.column("attempt")})
    path = tmp / "generic.csv"
    pcsv.write_csv(out, path)
    fit = fit_log(load_log(path), "team", str(path)).fit
    keys = truths()
    keys.update(reachability_truths(fit))
    result = covered(fit, keys)
    assert len(result) >= 18
    assert_coverage(result)


def test_vicidial_log_with_a_mapping_for_gatekeepers_and_cancelled_dials(exported):
    tmp, table, utc_s, stamp, outcome, direction = exported
    out = direction == "outbound"
    status_of = {"connect": "SALE", "gatekeeper": "GK", "voicemail_left": "AL", "voicemail_silent": "AA",
                 "no_answer": "NA", "bad_number": "DC", "cancelled": "CANC", "abandoned": "DROP"}
    talk = np.nan_to_num(table.column("talk_s").to_numpy(zero_copy_only=False))
    rows = np.flatnonzero(out)
    vici = pa.table({
        "lead_id": pc.cast(table.column("prospect_id"), pa.string()).take(pa.array(rows)),
        "call_date": pc.replace_substring(stamp, "T", " ").take(pa.array(rows)),
        "start_epoch": pa.array(np.floor(utc_s[rows]).astype(np.int64)),
        "length_in_sec": pa.array(np.round(talk[rows]).astype(np.int64)),
        "status": pa.array([status_of[o] for o in outcome[rows]]),
        "user": pc.cast(table.column("rep_id"), pa.string()).take(pa.array(rows)),
    })
    path = tmp / "vicidial_log.csv"
    pcsv.write_csv(vici, path)
    mapping = tmp / "vici.toml"
    mapping.write_text('[statuses]\nGK = "gatekeeper"\nCANC = "cancelled"\n')
    loaded = load_log(path, mapping=mapping)
    assert loaded.format == "vicidial"
    fit = fit_log(loaded, "team", str(path)).fit
    every = truths()
    keys = {k: every[k] for k in ("prospects.segments.0.p_bad_number", "prospects.segments.0.p_voicemail_box",
                                  "prospects.segments.0.p_right_party", "conversation.talk_s.median",
                                  "screening.answer_mult_per_silent_miss",
                                  "screening.answer_mult_per_voicemail")}
    result = covered(fit, keys)
    value, low, high = fitted_live_product(fit)
    truth = live_product_truth(fit)
    assert value - 2 * (value - low) <= truth <= value + 2 * (high - value)
    result["live product"] = low <= truth <= high
    assert_coverage(result)
    # no inbound calls in a vicidial_log: callbacks stay at their defaults, and say why
    assert ("callbacks.p_callback", "no inbound callbacks in the log") in [(k, w) for k, w in fit.uninformed] \
        or any(k.startswith("callbacks") for k, _w in fit.uninformed)


def test_hubspot_style_export(exported):
    tmp, table, _utc, stamp, outcome, direction = exported
    keep = direction != "return"  # a CRM logs a returned callback as an ordinary call: left out
    disposition = {"connect": "Connected", "gatekeeper": "Left live message", "voicemail_left": "Left voicemail",
                   "voicemail_silent": "No answer", "no_answer": "No answer", "bad_number": "Wrong number",
                   "cancelled": "No answer", "inbound_connect": "Connected", "inbound_missed": "No answer"}
    rows = np.flatnonzero(keep)
    talk = np.nan_to_num(table.column("talk_s").to_numpy(zero_copy_only=False))
    hub = pa.table({
        "Contact ID": pc.cast(table.column("prospect_id"), pa.string()).take(pa.array(rows)),
        "Activity date": pc.replace_substring(stamp, "T", " ").take(pa.array(rows)),
        "Call direction": pa.array(["Inbound" if d == "inbound" else "Outbound" for d in direction[rows]]),
        "Call outcome": pa.array([disposition[o] for o in outcome[rows]]),
        "Call duration (seconds)": pa.array(np.round(talk[rows]).astype(np.int64)),
    })
    path = tmp / "hubspot_calls.csv"
    pcsv.write_csv(hub, path)
    loaded = load_log(path, time_zone=f"{TEAM_OFFSET_H:+03d}:00")
    assert loaded.format == "hubspot"
    fit = fit_log(loaded, "team", str(path)).fit
    every = truths()
    keys = {k: every[k] for k in ("prospects.segments.0.p_bad_number", "prospects.segments.0.p_right_party",
                                  "conversation.talk_s.median", "screening.answer_mult_per_silent_miss",
                                  "screening.answer_mult_per_voicemail", "callbacks.p_callback")}
    result = covered(fit, keys)
    value, low, high = fitted_live_product(fit)
    truth = live_product_truth(fit)
    assert value - 2 * (value - low) <= truth <= value + 2 * (high - value)
    result["live product"] = low <= truth <= high
    assert_coverage(result)
    assert fit.estimate("prospects.segments.0.p_voicemail_box") is None
