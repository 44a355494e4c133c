"""What `network.encrypted` (IPsec on the app's Swarm overlay) costs on a rack.

Runs on the controller against any Swarm cluster of the rack, real or
simulated, over SSH to its manager (the docker CLI there, with sudo):

  python3 scripts/overlay-cost.py --ssh pi@10.0.1.10 --server c1-worker1 --client c1-worker2

It creates two overlay networks, one plain and one encrypted, and on each
a busybox web server on --server. On --client it times, in interleaved
pairs (plain, encrypted, plain, ...), one download of --mb MiB (throughput)
and --requests small requests one after another (latency), each in a
one-off Swarm job, then prints the medians, the spread and the
encrypted/plain ratios. Everything it created is removed at the end, also
after a failure. The image is the busybox image the docker_engine role
leaves on every board (pirack/verify:busybox), so no registry is needed.

The figures go into BENCHMARKS.md; on a Pi the ratio is the point, since
neither the Pi 3B+ nor the Pi 4 has the ARMv8 crypto extensions that make
AES cheap.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import subprocess
import sys
import time

PREFIX = "pirack-cost"
PORT = 8080
NETWORKS = {"plain": [], "encrypted": ["--opt", "encrypted"]}
JOB_TIMEOUT = 120  # seconds for each half of a job (the download, the requests)


class Manager:
    """docker on the swarm manager, over SSH."""

    def __init__(self, target: str, port: int, key: str | None, options: list[str]) -> None:
        self.ssh = ["ssh", "-p", str(port), "-o", "BatchMode=yes", "-o", "LogLevel=ERROR"]
        self.ssh += ["-i", key] if key else []
        self.ssh += [arg for option in options for arg in ("-o", option)]
        self.ssh.append(target)

    def docker(self, *args: str, check: bool = True, timeout: float = 600) -> str:
        try:
            done = subprocess.run([*self.ssh, shlex.join(["sudo", "docker", *args])], capture_output=True,
                                  text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise SystemExit(f"overlay-cost: docker {' '.join(args[:3])} on the manager: "
                             f"no answer within {timeout:.0f} s") from None
        if check and done.returncode != 0:
            raise SystemExit(f"overlay-cost: docker {' '.join(args[:3])} on the manager failed: "
                             f"{(done.stderr or done.stdout).strip().splitlines()[-1:]}")
        return done.stdout


def server_script(mb: int) -> str:
    return (f"mkdir -p /www && dd if=/dev/zero of=/www/blob bs=1048576 count={mb} 2>/dev/null "
            f"&& echo ok > /www/small && exec httpd -f -p {PORT} -h /www")


def client_script(host: str, requests: int) -> str:
    """Prints two `real` lines (busybox time -p): the download, then the requests."""
    url = f"http://{host}:{PORT}"
    return (f"exec 2>&1; time -p timeout {JOB_TIMEOUT} wget -q -O /dev/null {url}/blob && "
            f"time -p timeout {JOB_TIMEOUT} sh -c 'i=0; while [ $i -lt {requests} ]; do "
            f"wget -q -O /dev/null {url}/small; i=$((i + 1)); done'")


def measure(manager: Manager, image: str, net: str, client: str, requests: int, run: int) -> tuple[float, float]:
    """(download seconds, seconds for the requests) of one job on ``client``."""
    name = f"{PREFIX}-job-{net}-{run}"
    try:
        manager.docker("service", "create", "--name", name, "--mode", "replicated-job", "--detach",
                       "--quiet", "--network", f"{PREFIX}-{net}", "--constraint", f"node.hostname=={client}",
                       "--restart-condition", "none", image,
                       "busybox", "sh", "-c", client_script(f"{PREFIX}-server-{net}", requests))
        # The CLI's own wait never ends for a job whose task failed: poll.
        deadline = time.monotonic() + 2 * JOB_TIMEOUT
        while time.monotonic() < deadline:
            state = manager.docker("service", "ps", name, "--format", "{{.CurrentState}}").split()[:1]
            if state and state[0] in ("Complete", "Failed", "Rejected", "Shutdown"):
                break
            time.sleep(2)
        logs = manager.docker("service", "logs", "--raw", name)
    finally:
        manager.docker("service", "rm", name, check=False)
    reals = [float(line.split()[1]) for line in logs.splitlines() if line.startswith("real ")]
    if len(reals) != 2:
        hint = (" An encrypted overlay that carries nothing is a kernel without IPsec (ESP) support: "
                "dockerd logs 'Failed Adding ... SA ... function not implemented'." if net == "encrypted" else "")
        raise SystemExit(f"overlay-cost: the {net} job got no answer from {client}: "
                         f"{' '.join(logs.split())[-300:]}.{hint}")
    return reals[0], reals[1]


def spread(values: list[float]) -> float:
    """(max - min) / median, in percent."""
    middle = statistics.median(values)
    return (max(values) - min(values)) / middle * 100 if middle else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ssh", required=True, help="user@address of the swarm manager")
    parser.add_argument("--port", type=int, default=22, help="its SSH port")
    parser.add_argument("--key", help="SSH private key")
    parser.add_argument("-o", dest="options", action="append", default=[], metavar="OPTION",
                        help="an ssh -o option; the simulated rack's boards need "
                             "-o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no")
    parser.add_argument("--server", required=True, help="node (hostname) that serves")
    parser.add_argument("--client", required=True, help="node (hostname) that downloads; another board")
    parser.add_argument("--mb", type=int, default=50, help="MiB per download (held in the server's memory)")
    parser.add_argument("--requests", type=int, default=50, help="small requests per run")
    parser.add_argument("--pairs", type=int, default=3, help="plain/encrypted pairs (at least 3)")
    parser.add_argument("--image", default="pirack/verify:busybox", help="busybox image on both boards")
    args = parser.parse_args()
    if args.pairs < 3 or args.mb < 1 or args.requests < 1 or args.server == args.client:
        parser.error("--pairs at least 3, --mb and --requests at least 1, --server and --client two boards")

    manager = Manager(args.ssh, args.port, args.key, args.options)
    results: dict[str, list[tuple[float, float]]] = {net: [] for net in NETWORKS}
    try:
        for net, options in NETWORKS.items():
            manager.docker("network", "create", "--driver", "overlay", *options, f"{PREFIX}-{net}")
            manager.docker("service", "create", "--name", f"{PREFIX}-server-{net}", "--detach=false", "--quiet",
                           "--network", f"{PREFIX}-{net}", "--endpoint-mode", "dnsrr",
                           "--constraint", f"node.hostname=={args.server}", args.image,
                           "busybox", "sh", "-c", server_script(args.mb))
        time.sleep(3)  # the servers write their file before they listen
        for run in range(args.pairs):
            for net in NETWORKS:
                results[net].append(measure(manager, args.image, net, args.client, args.requests, run))
                download, requests = results[net][-1]
                print(f"pair {run + 1} {net:>9}: {args.mb / download:7.1f} MiB/s, "
                      f"{requests / args.requests * 1000:6.2f} ms per request", flush=True)
    finally:
        for net in NETWORKS:
            manager.docker("service", "rm", f"{PREFIX}-server-{net}", check=False)
        time.sleep(2)
        for net in NETWORKS:
            manager.docker("network", "rm", f"{PREFIX}-{net}", check=False)

    summary = {}
    for net, runs in results.items():
        rates = [args.mb / download for download, _ in runs]
        latencies = [requests / args.requests * 1000 for _, requests in runs]
        summary[net] = (statistics.median(rates), statistics.median(latencies))
        flag = "  (spread over 5 %: a noisy machine)" if max(spread(rates), spread(latencies)) > 5 else ""
        print(f"{net:>9}: median {summary[net][0]:.1f} MiB/s (spread {spread(rates):.0f} %), "
              f"{summary[net][1]:.2f} ms per request (spread {spread(latencies):.0f} %){flag}")
    print(f"encrypted/plain: throughput x{summary['encrypted'][0] / summary['plain'][0]:.2f}, "
          f"request time x{summary['encrypted'][1] / summary['plain'][1]:.2f} "
          f"({args.pairs} pairs, {args.server} -> {args.client})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
