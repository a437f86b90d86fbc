"""The benchmark's printed table: one row per measurement, its time and what it is against."""

from __future__ import annotations


def table(r: dict) -> str:
    e, m, d = r["epoch"], r["many"], r["dropout"]
    rows = [
        ("float32 matmul peak", f"{r['matmul_peak_gflops']:.0f} GFLOP/s", "the yardstick"),
        (
            f"epoch limit at peak ({e['images']} images)",
            f"{e['limit_seconds']:.3f} s",
            "6 x N x 101,632 FLOP / peak",
        ),
        (
            "epoch, Keras fit (batch 32)",
            f"{e['fit_seconds']:.3f} s",
            f"{e['fit_x_limit']:.1f}x the limit",
        ),
        (
            "epoch, scanned (ours)",
            f"{e['fast_seconds']:.3f} s",
            f"{e['fast_x_limit']:.1f}x the limit; {e['fast_speedup_vs_fit']:.1f}x faster than fit  [target <= 2.5x]",
        ),
        (
            f"{m['models']} models x {m['epochs']} epochs, one after another (ours)",
            f"{m['in_turn_seconds']:.1f} s",
            "training only; each compiles its epoch",
        ),
        (
            f"{m['models']} models x {m['epochs']} epochs, Keras fit one after another",
            f"{m['keras_fit_in_turn_seconds']:.1f} s",
            "training only",
        ),
        (
            f"{m['models']} models together (ours, {m['workers']} threads)",
            f"{m['together_seconds']:.1f} s",
            f"{m['together_speedup_vs_in_turn']:.2f}x vs ours in turn, {m['together_speedup_vs_keras_fit']:.1f}x vs fit "
            "in turn  [target >= 2x]",
        ),
        (
            f"weight dropout K={d['members']} on {d['images']} images (ours)",
            f"{d['ours_seconds']:.2f} s",
            f"{d['ours_gflops']:.0f} GFLOP/s = {100 * d['ours_share_of_peak']:.0f}% of peak  [target >= 60%]",
        ),
        (
            "weight dropout, clone + set + predict per member",
            f"{d['loop_seconds']:.1f} s",
            f"ours is {d['speedup_vs_loop']:.0f}x faster  [target >= 10x] (loop timed on "
            f"{d['loop_members_measured']} members, scaled)",
        ),
    ]
    from mnistlab.bench import conv, exercise

    rows += conv.rows(r) + exercise.rows(r)
    if "report" in r:
        rows.append(
            (
                f"lab report, cold (empty cache), {r['report']['seeds']} seed(s)",
                f"{r['report']['cold_seconds']:.1f} s",
                f"warm {r['report']['warm_seconds']:.1f} s  [target about 5 min"
                + (", full mode]" if not r["quick"] else ", quick mode here]"),
            )
        )
        cost = r["report"]["cost"]
        rows.append(
            (
                "  report, cold: FLOP floor",
                f"{cost['floor_seconds']:.1f} s",
                f"{cost['flop'] / 1e12:.2f} TFLOP at {cost['peak_gflops']:.0f} GFLOP/s; studies "
                f"{cost['wall_seconds']:.1f} s = {cost['ratio']:.2f}x floor  [target <= 1.5x]",
            )
        )
        for name, phase in cost["phases"].items():
            if phase["flop"] > 0:
                rows.append(
                    (
                        f"    floor of {name}",
                        f"{phase['floor_seconds']:.1f} s",
                        f"wall {phase['wall_seconds']:.1f} s = {phase['ratio']:.2f}x floor",
                    )
                )
        from mnistlab.studies.registry import names

        study_seconds = r["report"]["study_seconds"]
        for name in ["training", *names()]:
            if name in study_seconds:
                rows.append((f"  report, cold: {name}", f"{study_seconds[name]:.1f} s", ""))
    rows.append(("peak memory (this process)", f"{r['peak_memory_mib']:.0f} MiB", ""))
    width = max(len(a) for a, _, _ in rows)
    return "\n".join(f"{a:{width}s}  {b:>14s}  {c}" for a, b, c in rows)
