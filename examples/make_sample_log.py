"""Write examples/sample_calls.csv: a SYNTHETIC call log made by dialsim.

    python examples/make_sample_log.py

Simulates examples/sample_team_truth.toml (one replication, its seed) and writes
the calls in the generic call-log schema (docs/calibration.md), as a team's export
would look: times in New York winter time (UTC-05:00), ids as text. The same seed
gives the same file.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

TEAM_OFFSET_S = -5 * 3600.0  # the team's clock is UTC-05:00


def main() -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    from sim.calibration.adapters import DIALSIM_EPOCH, from_dialsim
    from sim.experiment.runs import execute_run
    from sim.scenario.schema import load_scenario

    scenario = load_scenario(HERE / "sample_team_truth.toml")
    with tempfile.TemporaryDirectory() as folder:
        run = Path(folder) / "run"
        execute_run(scenario, out_dir=run, seed=scenario.experiment.seed, replications=1,
                    strategies=tuple(scenario.strategy_names()), workers=1, calls=True)
        table, _context = from_dialsim(pq.read_table(run / "calls.parquet"), run / "calls.parquet")
    # dialsim's time 0 is midnight on the team's clock: shift to UTC, write with the offset
    utc_us = pc.cast(table.column("start_time"), pa.int64()).to_numpy() - int(TEAM_OFFSET_S * 1e6)
    local = pa.array((utc_us + int(TEAM_OFFSET_S * 1e6)) // 1_000_000, type=pa.timestamp("s"))
    text = pc.binary_join_element_wise(pc.strftime(local, format="%Y-%m-%dT%H:%M:%S"),
                                       pa.array(["-05:00"] * len(table)), "")
    prospect = pc.cast(table.column("prospect_id"), pa.string())
    rep = pc.cast(table.column("rep_id"), pa.string())
    out = pa.table({
        "prospect_id": pc.binary_join_element_wise(pa.array(["P"] * len(table)), prospect, ""),
        "rep_id": pc.binary_join_element_wise(pa.array(["rep"] * len(table)), rep, ""),
        "start_time": text,
        "direction": table.column("direction"),
        "outcome": table.column("outcome"),
        "ring_s": pc.round(table.column("ring_s"), 1),
        "talk_s": pc.round(table.column("talk_s"), 1),
        "wrap_s": pc.round(table.column("wrap_s"), 1),
        "message_id": pc.cast(table.column("message_id"), pa.string()),
        "attempt": table.column("attempt"),
    })
    order = np.lexsort((utc_us,))
    out = out.take(pa.array(order))
    path = HERE / "sample_calls.csv"
    pcsv.write_csv(out, path, pcsv.WriteOptions(quoting_style="none"))
    print(f"wrote {path} ({len(out)} calls, SYNTHETIC; made from {DIALSIM_EPOCH:%Y-%m-%d} on)")


if __name__ == "__main__":
    main()
