"""The proxy benchmark: direct vs the two floors vs Stowage, alternated, in one invocation.

Targets (all in front of the same ``rclone serve s3``, server side pinned to one core, the driver
to the other): ``direct`` (the upstream itself), ``pump`` (the language floor), ``forwarder``
(the stack floor), ``stowage`` (the S3 proxy with every check on), and ``constant`` (a bare
Hypercorn app answering 200, the reference for answers that never reach an upstream).
Per workload it reports throughput ratios against direct (median and range over rounds), the
proxy process's CPU-ms per request, and Stowage's quotient against each floor.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

import driver as drv  # noqa: E402
import servers as srv  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
DRIVER_CORE, SERVER_CORE = [0], [1]


@dataclass
class Workload:
    name: str
    targets: tuple[str, ...]
    requests: int
    quick_requests: int
    rounds: int = 3


SMALL = ("direct", "pump", "forwarder", "stowage")
WORKLOADS = [
    Workload("GET 1 KiB", SMALL, 3000, 1200),
    Workload("HEAD", SMALL, 3000, 1200),
    Workload("PUT 1 KiB", SMALL, 2000, 800, rounds=5),
    Workload("presigned GET", SMALL, 3000, 1200),
    Workload("ListObjectsV2", SMALL, 1000, 400),
    Workload("GET 16 MiB", SMALL, 60, 12),
    Workload("PUT 16 MiB", SMALL, 40, 8, rounds=5),
    Workload("aws-chunked PUT 16 MiB", SMALL, 40, 8),
    Workload("ListBuckets (synthesised)", ("constant", "stowage"), 4000, 1600),
    Workload("bad signature", ("constant", "stowage"), 4000, 1600),
]
SIXTEEN = 16 << 20


def _request_maker(workload: str, target: drv.Target, payloads: dict[str, bytes]) -> drv.RequestMaker:
    signer = target.signer()
    if workload in ("GET 1 KiB", "GET 16 MiB", "HEAD"):
        key = "small" if "1 KiB" in workload or workload == "HEAD" else "large"
        method = "HEAD" if workload == "HEAD" else "GET"

        def make(i: int) -> Any:
            out = signer.build(method, "bench", key, b"", [])
            return method, target.url(out.url), out.headers, None

        return make
    if workload in ("PUT 1 KiB", "PUT 16 MiB"):
        body = payloads["1k"] if "1 KiB" in workload else payloads["16m"]

        def make(i: int) -> Any:
            # rclone fails a few percent of concurrent PUTs to one key: keep in-flight keys distinct.
            out = signer.build("PUT", "bench", f"put-{i % 64}", b"", [], content_length=len(body))
            return "PUT", target.url(out.url), out.headers, body

        return make
    if workload == "presigned GET":
        url = drv.presign(target, "bench", "small")
        return lambda i: ("GET", url, [], None)
    if workload == "ListObjectsV2":

        def make(i: int) -> Any:
            out = signer.build("GET", "bench", "", b"list-type=2&max-keys=100", [])
            return "GET", target.url(out.url), out.headers, None

        return make
    if workload == "aws-chunked PUT 16 MiB":
        # Built once (signing 16 MiB costs the driver ~30 ms) and replayed; one key per slot.
        prepared = [drv.aws_chunked_put(target, "bench", f"chunked-{n}", payloads["16m"]) for n in range(12)]
        return lambda i: ("PUT", *prepared[i % len(prepared)])
    if workload == "ListBuckets (synthesised)":

        def make(i: int) -> Any:
            out = signer.build("GET", "", "", b"", [])
            return "GET", target.url(out.url), out.headers, None

        return make
    if workload == "bad signature":
        wrong = target.signer("0" * 40)

        def make(i: int) -> Any:
            out = wrong.build("GET", "bench", "small", b"", [])
            return "GET", target.url(out.url), out.headers, None

        return make
    raise ValueError(workload)


def _seed(up: Any) -> dict[str, bytes]:
    import boto3

    payloads = {"1k": os.urandom(1024), "16m": os.urandom(SIXTEEN)}
    client = boto3.session.Session().client(
        "s3", endpoint_url=up.endpoint_url, aws_access_key_id=up.access_key,
        aws_secret_access_key=up.secret_key, region_name="us-east-1",
    )  # fmt: skip
    client.put_object(Bucket="bench", Key="small", Body=payloads["1k"])
    client.put_object(Bucket="bench", Key="large", Body=payloads["16m"])
    for i in range(20):
        client.put_object(Bucket="bench", Key=f"list/{i}", Body=b"x")
    return payloads


def _summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


async def _measure(
    targets: dict[str, drv.Target],
    workloads: list[Workload],
    quick: bool,
    payloads: dict[str, bytes],
    concurrencies: list[int],
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for concurrency in concurrencies:
        for workload in workloads:
            n = workload.quick_requests if quick else workload.requests
            rounds = max(3, workload.rounds) if not quick else min(3, workload.rounds)
            per_target: dict[str, list[drv.Result]] = {t: [] for t in workload.targets}
            for _ in range(rounds):  # alternate targets within each round (ABAB…)
                for name in workload.targets:
                    target = targets[name]
                    make = _request_maker(workload.name, target, payloads)
                    result = await drv.run_workload(target, make, requests=n, concurrency=concurrency)
                    per_target[name].append(result)
            name = workload.name if concurrency == 8 else f"{workload.name} @{concurrency}"
            out[name] = _report(workload, per_target, targets)
            print(_line(name, out[name]), flush=True)
    return out


def _cpu_ms(target: drv.Target, result: drv.Result) -> float:
    if target.proxy is None:
        return 0.0
    label = f"{target.proxy.name()}:{target.proxy.pid}"
    return 1000.0 * result.cpu.get(label, 0.0) / result.requests


def _report(
    workload: Workload, per_target: dict[str, list[drv.Result]], targets: dict[str, drv.Target]
) -> dict[str, Any]:
    base_name = workload.targets[0]
    base = per_target[base_name]
    report: dict[str, Any] = {"baseline": base_name, "targets": {}}
    for name, results in per_target.items():
        ratios = [r.rps / b.rps for r, b in zip(results, base, strict=True) if b.rps]
        statuses: dict[str, int] = {}
        for r in results:
            for status, count in r.statuses.items():
                statuses[str(status)] = statuses.get(str(status), 0) + count
        report["targets"][name] = {
            "rps": _summary([r.rps for r in results]),
            "ratio_vs_baseline": _summary(ratios),
            "proxy_cpu_ms_per_request": _summary([_cpu_ms(targets[name], r) for r in results]),
            "statuses": statuses,
        }
    stowage = report["targets"].get("stowage")
    if stowage is not None:
        quotients = {}
        for floor in ("pump", "forwarder"):
            if floor in report["targets"]:
                floor_ms = report["targets"][floor]["proxy_cpu_ms_per_request"]["median"]
                if floor_ms > 0:
                    quotients[floor] = stowage["proxy_cpu_ms_per_request"]["median"] / floor_ms
        if "constant" in report["targets"]:
            quotients["constant_rps_share"] = (
                stowage["rps"]["median"] / report["targets"]["constant"]["rps"]["median"]
            )
        report["stowage_quotients"] = quotients
    return report


def _line(name: str, report: dict[str, Any]) -> str:
    parts = [f"{name:<26}"]
    for target, data in report["targets"].items():
        ratio = data["ratio_vs_baseline"]
        parts.append(
            f"{target}: {data['rps']['median']:8.1f} rps x{ratio['median']:.2f} "
            f"[{ratio['min']:.2f}-{ratio['max']:.2f}] {data['proxy_cpu_ms_per_request']['median']:.3f} ms"
        )
    quotients = report.get("stowage_quotients", {})
    if quotients:
        parts.append("quotients " + ", ".join(f"{k}={v:.2f}" for k, v in quotients.items()))
    return " | ".join(parts)


def _memory(stowage: srv.Server, up: Any, size: int) -> dict[str, float]:
    """Peak RSS of Stowage during one streamed PUT and one streamed GET of ``size`` bytes."""
    peak = {"value": stowage.process.memory_info().rss}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak["value"] = max(peak["value"], stowage.process.memory_info().rss)
            time.sleep(0.05)

    target = drv.Target("stowage", stowage.url, stowage.url, srv.VC_KEY, srv.VC_SECRET)
    signer = target.signer()

    async def transfer() -> None:
        import aiohttp

        async with aiohttp.ClientSession() as session:
            put = signer.build("PUT", "bench", "huge", b"", [], content_length=size)
            async with session.put(target.url(put.url), headers=put.headers, data=drv.generated(size),
                                   skip_auto_headers=("Content-Type",)) as response:  # fmt: skip
                assert response.status == 200, await response.text()
            get = signer.build("GET", "bench", "huge", b"", [])
            async with session.get(target.url(get.url), headers=get.headers) as response:
                received = 0
                async for piece in response.content.iter_chunked(1 << 20):
                    received += len(piece)
                assert received == size

    thread = threading.Thread(target=sample, daemon=True)
    before = stowage.process.memory_info().rss
    thread.start()
    asyncio.run(transfer())
    stop.set()
    thread.join()
    return {"size_bytes": size, "rss_before_mib": before / 2**20, "rss_peak_mib": peak["value"] / 2**20}


def _machine() -> dict[str, Any]:
    cpu = ""
    try:
        cpu = next(
            line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")
        )
    except (OSError, StopIteration):
        cpu = platform.processor()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "date": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
    }


def markdown(results: dict[str, Any]) -> str:
    machine = results["machine"]
    lines = [
        "# Proxy benchmark", "",
        f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB, Python {machine['python']}, "
        f"kernel {machine['kernel']}; run {machine['date']} ({'quick' if results['quick'] else 'full'} mode).", "",
        "Driver pinned to core 0, servers to core 1, concurrency 8 (rows marked @64: 64), upstream `rclone serve s3`. "
        "Ratios are throughput against the first column's baseline (median [min–max] over alternated rounds); "
        "CPU is the proxy process's CPU-ms per request.", "",
        "| workload | pump ratio | forwarder ratio | stowage ratio | pump ms | forwarder ms | stowage ms | stowage ÷ forwarder | stowage ÷ pump |",
        "|---|---|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for name, report in results["workloads"].items():
        t = report["targets"]

        def ratio(target: str) -> str:
            if target not in t:
                return "–"
            r = t[target]["ratio_vs_baseline"]
            return f"{r['median']:.2f} [{r['min']:.2f}–{r['max']:.2f}]"

        def ms(target: str) -> str:
            return f"{t[target]['proxy_cpu_ms_per_request']['median']:.3f}" if target in t else "–"

        q = report.get("stowage_quotients", {})
        if "constant" in t:
            lines.append(
                f"| {name} | – | – | {ratio('stowage')} of constant | – | – | {ms('stowage')} | "
                f"rps share {q.get('constant_rps_share', 0):.2f} | – |"
            )
            continue
        lines.append(
            f"| {name} | {ratio('pump')} | {ratio('forwarder')} | {ratio('stowage')} | {ms('pump')} | {ms('forwarder')} | "
            f"{ms('stowage')} | {q.get('forwarder', 0):.2f} | {q.get('pump', 0):.2f} |"
        )
    memory = results.get("memory")
    if memory:
        lines += ["", f"Stowage resident memory during a {memory['size_bytes'] / 2**30:.2f} GiB PUT and GET: "
                  f"{memory['rss_before_mib']:.0f} MiB before, {memory['rss_peak_mib']:.0f} MiB peak."]  # fmt: skip
    return "\n".join(lines) + "\n"


def check(results: dict[str, Any], baseline_path: Path, tolerance: float = 1.3) -> list[str]:
    """Workloads whose Stowage ÷ stack-floor quotient rose more than ``tolerance`` × the baseline's."""
    baseline = json.loads(baseline_path.read_text())
    failures = []
    for name, expected in baseline["quotients"].items():
        report = results["workloads"].get(name)
        if report is None:
            continue
        got = report.get("stowage_quotients", {}).get("forwarder")
        if got is not None and got > expected * tolerance:
            failures.append(
                f"{name}: stowage/forwarder CPU quotient {got:.2f} > {tolerance} × baseline {expected:.2f}"
            )
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short run (CI regression guard)")
    parser.add_argument("--only", action="append", default=[], help="run only workloads containing this text")
    parser.add_argument(
        "--memory-gib", type=float, default=None, help="size of the memory transfer (default 2, quick 0.25)"
    )
    parser.add_argument(
        "--check", type=Path, help="fail if quotients regress >30%% against this baseline JSON"
    )
    parser.add_argument(
        "--write-baseline", type=Path, help="write the measured forwarder quotients as a baseline"
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="where latest.json/latest.md go")
    parser.add_argument(
        "--concurrency", default="8,64", help="comma-separated in-flight request counts (quick: 8 only)"
    )
    args = parser.parse_args()
    os.sched_setaffinity(0, set(DRIVER_CORE) & os.sched_getaffinity(0) or os.sched_getaffinity(0))
    workloads = [w for w in WORKLOADS if not args.only or any(o.lower() in w.name.lower() for o in args.only)]
    with (
        tempfile.TemporaryDirectory(prefix="stowage-bench-") as tmp,
        srv.upstream(Path(tmp), SERVER_CORE) as (up, rclone),
    ):
        payloads = _seed(up)
        pump = srv.floor("pump", rclone.port, SERVER_CORE)
        forwarder = srv.floor("forwarder", rclone.port, SERVER_CORE)
        constant = srv.floor("constant", rclone.port, SERVER_CORE)
        stowage = srv.stowage(Path(tmp), up.endpoint_url, SERVER_CORE)
        try:
            server_side = [rclone.process]
            targets = {
                "direct": drv.Target("direct", up.endpoint_url, up.endpoint_url, up.access_key, up.secret_key, server_side),
                "pump": drv.Target("pump", pump.url, up.endpoint_url, up.access_key, up.secret_key, [*server_side, pump.process], pump.process),
                "forwarder": drv.Target("forwarder", forwarder.url, up.endpoint_url, up.access_key, up.secret_key,
                                        [*server_side, forwarder.process], forwarder.process),
                "stowage": drv.Target("stowage", stowage.url, stowage.url, srv.VC_KEY, srv.VC_SECRET,
                                      [*server_side, stowage.process], stowage.process),
                "constant": drv.Target("constant", constant.url, constant.url, up.access_key, up.secret_key,
                                       [constant.process], constant.process),
            }  # fmt: skip
            results: dict[str, Any] = {"machine": _machine(), "quick": args.quick}
            concurrencies = [8] if args.quick else [int(c) for c in args.concurrency.split(",")]
            results["workloads"] = asyncio.run(
                _measure(targets, workloads, args.quick, payloads, concurrencies)
            )
            if args.check:
                # A regression must show twice: re-measure the workloads that crossed the line once
                # and keep the better quotient (a busy neighbour should not fail CI).
                suspects = {f.split(":", 1)[0] for f in check(results, args.check)}
                again = [w for w in workloads if w.name in suspects]
                if again:
                    print(f"re-measuring {sorted(suspects)} to confirm", flush=True)
                    retry = asyncio.run(_measure(targets, again, args.quick, payloads, [8]))
                    for name, report in retry.items():
                        old = results["workloads"][name].get("stowage_quotients", {}).get("forwarder", 0)
                        new = report.get("stowage_quotients", {}).get("forwarder", 0)
                        if new < old:
                            results["workloads"][name] = report
            size = args.memory_gib if args.memory_gib is not None else (0.25 if args.quick else 2.0)
            if size > 0:
                results["memory"] = _memory(stowage, up, int(size * 2**30))
                print(f"memory: {results['memory']}", flush=True)
        finally:
            for server in (pump, forwarder, constant, stowage):
                server.stop()
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "latest.json").write_text(json.dumps(results, indent=2))
    (args.output / "latest.md").write_text(markdown(results))
    print(markdown(results))
    if args.write_baseline:
        quotients = {n: r["stowage_quotients"]["forwarder"] for n, r in results["workloads"].items()
                     if "forwarder" in r.get("stowage_quotients", {})}  # fmt: skip
        args.write_baseline.write_text(
            json.dumps({"machine": results["machine"], "quotients": quotients}, indent=2) + "\n"
        )
    if args.check:
        failures = check(results, args.check)
        for failure in failures:
            print("REGRESSION:", failure, file=sys.stderr)
        return 1 if failures else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
