#!/usr/bin/python
# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Everyday Docker commands as one module with structured answers."""

from __future__ import annotations

DOCUMENTATION = r"""
module: docker_op
short_description: Run one everyday Docker operation and get structured data back
version_added: 0.1.0
seealso:
  - module: pirack.cluster.docker_host_info
  - module: pirack.cluster.image_index
description:
  - Runs one of the everyday C(docker) commands (C(ps), C(images), C(pull),
    C(run), C(stop), C(rm), C(logs), C(stats), C(exec), C(prune), C(info), C(import),
    C(build), C(tag), C(push), C(save), C(load)) against the engine of the host it
    runs on, through the Docker SDK for Python.
  - Answers are lists and dicts, not the text C(docker) prints, so a play can
    use them and the C(pirack.cluster.docker_run) playbook can merge the
    answers of many hosts into one table.
  - Operations that only read never report a change. Operations that change
    something report a change only when they did (stopping a stopped container,
    removing an absent one, pulling an unchanged image or importing an image that
    exists are no change; a build is a change only when the image id moved, a push
    only when the registry did not serve that image yet).
  - Bad input fails with one line naming the option, before anything is changed.
extends_documentation_fragment:
  - pirack.cluster.action_groups.docker
  - pirack.cluster.docker
attributes:
  check_mode:
    description: Reports what a changing operation would do without doing it.
    support: full
    details:
      - Read operations run normally. C(stop), C(rm), C(prune), C(import), C(pull),
        C(tag), C(push), C(save) and C(load) report what they would change; C(run)
        and C(exec) report a change without running anything; C(build) reports a
        change only when the image does not exist yet (what a build gives is only
        known by building).
  diff_mode:
    description: Shows the image id or container state before and after.
    support: partial
    details:
      - C(pull), C(stop), C(rm), C(import), C(build), C(tag), C(save) and C(push)
        return the before and after image id, digest or container state.
  idempotent:
    description: Operations with a target state change nothing the second time.
    support: partial
    details:
      - C(run) without O(name) and C(exec) change something on every call, as the
        commands they stand for do.
options:
  op:
    description:
      - The operation, named after the C(docker) sub-command it stands for.
      - What each operation needs and takes, besides O(docker_host), O(timeout)
        and O(each). Any other option set away from its default is refused, in
        one line naming the operations it is for, before the engine is asked
        anything. Operations that read only never report a change.
      - V(ps) takes O(all), O(filters); reads only.
      - V(images) takes O(image), O(all), O(filters); reads only.
      - V(info) takes no options; reads only.
      - V(logs) needs O(name); takes O(tail); reads only.
      - V(stats) takes O(name); reads only.
      - V(pull) needs O(image); takes O(platform), O(username), O(password).
      - V(run) needs O(image); takes O(name), O(command), O(env), O(network), O(detach),
        O(cleanup), O(wait_timeout), O(pull), O(username), O(password).
      - V(stop) needs O(name); takes O(stop_timeout), O(missing_ok).
      - V(rm) needs O(name); takes O(force).
      - V(exec) needs O(name), O(command); takes O(env).
      - V(prune) takes O(prune).
      - V(import) needs O(image), O(src); takes O(changes).
      - V(build) needs O(image), O(src); takes O(dockerfile), O(build_args), O(network), O(platform).
      - V(tag) needs O(image), O(target).
      - V(push) needs O(image); takes O(username), O(password).
      - V(save) needs O(dest); takes O(image), O(images).
      - V(load) needs O(src).
    type: str
    required: true
    choices: [ps, images, pull, run, stop, rm, logs, stats, exec, prune, info, import, build, tag, push, save, load]
  name:
    description:
      - Container name (or id). Required for O(op=stop), O(op=rm), O(op=logs) and
        O(op=exec); optional for O(op=run) and O(op=stats).
      - For O(op=run), an existing container of that name is left alone and
        reported unchanged.
    type: str
  image:
    description:
      - Image reference, C([registry/]repo[:tag][@digest]) (the tag defaults to
        C(latest)). Required for O(op=pull), O(op=run), O(op=import), O(op=build)
        (the tag the build gets), O(op=tag) (the source) and O(op=push).
      - For O(op=save), the image to write (or O(images)).
      - For O(op=images), list only this image, with its registry digests (a
        C(reference) filter leaves those out); an empty list when it is absent.
    type: str
  target:
    description: Required for O(op=tag), the new reference, C([registry/]repo[:tag]).
    type: str
  command:
    description:
      - Required for O(op=exec); for O(op=run), it overrides the image's command.
      - A list is passed as is; a string is split the way a shell would (an
        unbalanced quote is refused).
    type: raw
  env:
    description: Environment variables for O(op=run) and O(op=exec).
    type: dict
  network:
    description:
      - Network mode for O(op=run) and for the C(RUN) steps of O(op=build), for
        example V(none), V(host) or a network name.
    type: str
  detach:
    description:
      - For O(op=run), start the container and return at once instead of waiting
        for it to exit and returning its output and exit code.
    type: bool
    default: false
  pull:
    description:
      - For O(op=run), when to pull O(image) first. V(missing) pulls it only when
        the engine does not have it, as C(docker run) does; V(always) pulls it
        every time, so a newer image pushed under the same tag is the one that
        runs; V(never) fails, without creating anything, when it is missing.
      - A pull uses O(username) and O(password) when they are given.
    type: str
    choices: [missing, always, never]
    default: missing
  cleanup:
    description: For a foreground O(op=run), remove the container once it has exited.
    type: bool
    default: true
  wait_timeout:
    description:
      - For a foreground O(op=run), seconds to wait for the container to exit
        (1 to 604800). A container still running then is killed (and removed
        when O(cleanup) is set) and the task fails.
    type: int
  all:
    description: For O(op=ps), include stopped containers; for O(op=images), include intermediate images.
    type: bool
    default: false
  filters:
    description: Engine filters for O(op=ps) and O(op=images), as C(docker ps --filter) takes them.
    type: dict
  tail:
    description: For O(op=logs), how many lines from the end to return (all when not set, none when V(0)).
    type: int
  stop_timeout:
    description: For O(op=stop), seconds to wait before the container is killed.
    type: int
    default: 10
  missing_ok:
    description: For O(op=stop), treat an absent container as stopped instead of failing.
    type: bool
    default: false
  force:
    description: For O(op=rm), remove the container even when it is running.
    type: bool
    default: false
  prune:
    description: For O(op=prune), what to delete when nothing uses it.
    type: list
    elements: str
    choices: [containers, images, networks, volumes]
    default: [containers, images]
  src:
    description:
      - Required for O(op=import), O(op=build) and O(op=load).
      - For O(op=import), a directory to use as the image's root filesystem, or a
        tarball of one, on the managed host. It is streamed to the engine, never
        read into memory.
      - For O(op=build), the build context folder.
      - For O(op=load), an archive made by C(docker save) (this module's save operation).
    type: path
  dest:
    description:
      - Required for O(op=save), the archive to write. An archive that already holds the
        image is left alone; one that holds another image is replaced.
    type: path
  platform:
    description:
      - For O(op=build), the platform the image is for, C(os/architecture[/variant])
        (V(linux/arm/v7)). An image is for its base image's platform, so build a
        foreign platform from a base image of that platform; the C(RUN) steps run
        under emulation when the board's kernel has it (qemu-user-static in
        binfmt_misc). A build that gives an image for another platform fails,
        naming the platform it got.
      - For O(op=pull), which platform's image to take from an index.
    type: str
  images:
    description:
      - For O(op=save), several images to write into one archive instead of O(image);
        the layers they share are written once.
    type: list
    elements: str
  dockerfile:
    description: For O(op=build), the Dockerfile, relative to O(src) or absolute (default C(Dockerfile) in O(src)).
    type: str
  build_args:
    description: For O(op=build), C(ARG) values, as C(docker build --build-arg) takes them.
    type: dict
  username:
    description:
      - Registry user for O(op=pull), O(op=push) and the pull of O(op=run), when the
        registry asks for one.
      - When not given, the login C(docker login) stored for the user the module
        runs as (C(~/.docker/config.json)) is used, as the C(docker) CLI would.
    type: str
  password:
    description: Password of O(username), for O(op=pull), O(op=push) and O(op=run).
    type: str
  changes:
    description:
      - For O(op=import), Dockerfile instructions to apply, as C(docker import --change)
        takes them, for example V(ENTRYPOINT ["/bin/busybox"]).
    type: list
    elements: str
  each:
    description:
      - Run the operation once per entry, in order, over one connection. It is what
        a loop does, without a round trip to the board per item. Each entry
        sets some of O(name), O(image), O(target), O(command), O(env), O(src),
        O(dest), O(dockerfile), O(build_args) and O(platform) over the task's own.
      - Each entry is checked like the task (what the operation needs and
        takes) before the first one runs.
      - The answers are in RV(results), in the order of the entries, as a
        loop's would be; the task changed when one of them did. The first
        entry that fails stops the rest.
    type: list
    elements: dict
"""

EXAMPLES = r"""
- name: List the running containers of every worker
  pirack.cluster.docker_op:
    op: ps
  register: ps

- name: Run a throwaway container and keep its output
  pirack.cluster.docker_op:
    op: run
    image: busybox:latest
    command: [echo, hello from the rack]
    network: none
  register: hello

- name: Stop the coin-miner worker if it runs
  pirack.cluster.docker_op:
    op: stop
    name: worker
    missing_ok: true

- name: Make a tiny image from a directory on an offline Pi
  pirack.cluster.docker_op:
    op: import
    image: pirack/busybox:local
    src: /var/lib/pirack/busybox-rootfs
    changes:
      - ENTRYPOINT ["/bin/busybox"]

- name: Build an image on the master and push it to the rack's registry
  pirack.cluster.docker_op:
    op: build
    image: 10.99.0.10:5000/pirack/coinminer-rng:latest
    src: /var/lib/pirack/coinminer/src
    dockerfile: rng/Dockerfile
    build_args:
      BASE_IMAGE: debian:bookworm
    network: host

- name: Push it (no change when the registry already serves this image)
  pirack.cluster.docker_op:
    op: push
    image: 10.99.0.10:5000/pirack/coinminer-rng:latest
  register: pushed

- name: Push two images in one call (pushed.results[0].digest is the first's)
  pirack.cluster.docker_op:
    op: push
    each:
      - image: 10.99.0.10:5000/pirack/coinminer-rng:latest
      - image: 10.99.0.10:5000/pirack/coinminer-hasher:latest
  register: pushed

- name: Free space on an SD card
  pirack.cluster.docker_op:
    op: prune
    prune: [containers, images, volumes]
"""

RETURN = r"""
results:
  description: With O(each), each entry's answer (the keys below), in the order of the entries.
  returned: when O(each) is given
  type: list
  elements: dict
  sample: [{op: push, image: "10.99.0.10:5000/pirack/coinminer-rng:latest", changed: false, digest: "sha256:9f2c..."}]
op:
  description: The operation that ran.
  returned: always
  type: str
  sample: ps
containers:
  description: O(op=ps) rows, sorted by name, one per container.
  returned: when O(op=ps)
  type: list
  elements: dict
  contains:
    id: {description: Short container id., type: str, sample: 3f2a9c1b0d4e}
    name: {description: Container name., type: str, sample: worker}
    image: {description: Image the container was created from., type: str, sample: "dockercoins/worker:v1"}
    command: {description: Command it runs., type: str, sample: python worker.py}
    state: {description: "Engine state: running, exited and so on.", type: str, sample: running}
    status: {description: Engine status line., type: str, sample: Up 3 minutes}
    created: {description: "Creation time, ISO 8601 in UTC.", type: str, sample: "2024-05-01T10:00:00+00:00"}
    ports:
      description: Published ports, with the engine's keys IP, PrivatePort, PublicPort and Type.
      type: list
      elements: dict
images:
  description:
    - O(op=images) rows, tagged images first.
    - With O(image), the row also has C(platform), the platform the image is for
      (V(linux/arm/v7)).
  returned: when O(op=images)
  type: list
  elements: dict
  sample:
    - {id: 4b1a2c3d4e5f, tags: ["busybox:latest"], digests: ["busybox@sha256:5acba83a..."],
       size_mb: 1.2, created: "2024-05-01T10:00:00+00:00", platform: linux/amd64}
stats:
  description: One sample per container, CPU percent of the whole host and memory without page cache.
  returned: when O(op=stats)
  type: list
  elements: dict
  sample:
    - {name: worker, cpu_percent: 12.5, memory_mb: 21.3, memory_limit_mb: 926.1, memory_percent: 2.3, pids: 3}
engine:
  description: Engine facts (the same shape as RV(pirack.cluster.docker_host_info#module:engine)).
  returned: when O(op=info)
  type: dict
lines:
  description: Log lines of the container, oldest first.
  returned: when O(op=logs)
  type: list
  elements: str
container:
  description: The container acted on (name, id, state), or its name for O(op=logs) and O(op=exec).
  returned: when O(op) is run, stop, rm, logs or exec
  type: raw
pulled:
  description: Whether O(op=run) pulled the image first (see O(pull)).
  returned: when O(op=run) created a container
  type: bool
  sample: false
rc:
  description: Exit code of the command.
  returned: when O(op=run) in the foreground, or O(op=exec)
  type: int
  sample: 0
stdout:
  description: Output of the command (stdout and stderr interleaved, as the engine logs them).
  returned: when O(op=run) in the foreground, or O(op=exec)
  type: str
stdout_lines:
  description: RV(stdout) split into lines; for O(op=build), the build's output.
  returned: when O(op=run) in the foreground, O(op=exec) or O(op=build)
  type: list
  elements: str
image:
  description: Image reference acted on, with the C(latest) tag filled in.
  returned: when O(op) is pull, import, build, tag, push or save
  type: str
  sample: busybox:latest
target:
  description: The new reference.
  returned: when O(op=tag)
  type: str
  sample: 10.99.0.11:5000/coinminer/worker:v1
id:
  description: Short id of the image after the operation.
  returned: when O(op) is pull, import, build, tag, push or save
  type: str
  sample: 4b1a2c3d4e5f
digest:
  description:
    - For O(op=push), the digest the registry serves for RV(image) (null in check mode when a push would happen).
    - For O(op=images) with O(image), the digest a registry gave that image under its name (null when none
      did), which is what a deploy pins the image to.
  returned: when O(op=push), or O(op=images) with O(image)
  type: str
  sample: sha256:9b0e4c8d1f...
dest:
  description: The archive written.
  returned: when O(op=save)
  type: str
  sample: /var/tmp/coinminer-images.tar
loaded:
  description: The tags of the images in the archive.
  returned: when O(op=load)
  type: list
  elements: str
  sample: ["debian:bookworm"]
saved:
  description: The images written to the archive, with the C(latest) tag filled in.
  returned: when O(op=save) with O(images)
  type: list
  elements: str
  sample: ["10.99.0.10:5000/coinminer/rng:latest-armhf"]
ids:
  description: Short ids of the images in the archive (for O(op=save), of RV(saved), in order).
  returned: when O(op=load), or O(op=save) with O(images)
  type: list
  elements: str
deleted:
  description: What was (or in check mode would be) deleted, by kind.
  returned: when O(op=prune)
  type: dict
  sample: {containers: [3f2a9c1b0d4e], images: []}
reclaimed_mb:
  description: Space freed, in MiB (null in check mode).
  returned: when O(op=prune)
  type: float
"""

import shlex  # noqa: E402
from typing import Any  # noqa: E402

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator  # noqa: E402
from ansible_collections.pirack.cluster.plugins.module_utils.docker_client import (  # noqa: E402
    docker_argument_spec,
    exit_with_engine_result,
)
from ansible_collections.pirack.cluster.plugins.module_utils.docker_ops import (  # noqa: E402
    ENTRY_OPTIONS,
    OPS,
    PRUNABLE,
    check_options,
    run_operation,
)
from ansible_collections.pirack.cluster.plugins.module_utils.errors import ImageIndexError, OperationError  # noqa: E402
from ansible_collections.pirack.cluster.plugins.module_utils.image_index import parse_platform  # noqa: E402
from ansible_collections.pirack.cluster.plugins.module_utils.image_ref import parse_image  # noqa: E402
from ansible_collections.pirack.cluster.plugins.module_utils.module_args import build_module  # noqa: E402

# A week: longer than any sane wait, short enough for a socket timeout.
MAX_SECONDS = 7 * 24 * 3600


def argument_spec() -> dict:
    """The module's options on top of the shared connection options."""
    return docker_argument_spec(
        op={"type": "str", "required": True, "choices": list(OPS)},
        name={"type": "str"},
        image={"type": "str"},
        target={"type": "str"},
        command={"type": "raw"},
        env={"type": "dict"},
        network={"type": "str"},
        detach={"type": "bool", "default": False},
        pull={"type": "str", "choices": ["missing", "always", "never"], "default": "missing"},
        cleanup={"type": "bool", "default": True},
        wait_timeout={"type": "int"},
        all={"type": "bool", "default": False},
        filters={"type": "dict"},
        tail={"type": "int"},
        stop_timeout={"type": "int", "default": 10},
        missing_ok={"type": "bool", "default": False},
        force={"type": "bool", "default": False},
        prune={"type": "list", "elements": "str", "choices": list(PRUNABLE),
               "default": ["containers", "images"]},
        src={"type": "path"},
        dest={"type": "path"},
        changes={"type": "list", "elements": "str"},
        dockerfile={"type": "str"},
        build_args={"type": "dict"},
        platform={"type": "str"},
        images={"type": "list", "elements": "str"},
        username={"type": "str"},
        password={"type": "str", "no_log": True},
        each={"type": "list", "elements": "dict"},
    )


REQUIRED_TOGETHER = [["username", "password"]]

# Option: (lowest, highest) accepted value of an integer option.
BOUNDS = {
    "timeout": (1, MAX_SECONDS),
    "wait_timeout": (1, MAX_SECONDS),
    "stop_timeout": (0, MAX_SECONDS),
    "tail": (0, None),
}


def _strings(option: str, value: dict) -> dict[str, str]:
    """Environment and build-arg values reach the engine as strings, even when YAML made them numbers."""
    out = {}
    for key, item in value.items():
        if isinstance(item, (dict, list)):
            raise OperationError(f"{option}: the value of {key} must be a string, number or boolean")
        out[str(key)] = "" if item is None else str(item)
    return out


def normalize_params(params: dict) -> dict:
    """Check what Ansible's types cannot and shape the options for the engine.

    Every refusal is an ``OperationError`` whose one line starts with the
    option's name, raised before any engine is contacted, so bad input never
    changes anything. A string ``command`` becomes argv the way a shell
    would split it, as users write ``command: echo hi`` as often as a list.
    """
    out = dict(params)
    for option, (low, high) in BOUNDS.items():
        value = out.get(option)
        if value is not None and (value < low or (high is not None and value > high)):
            span = f"from {low} to {high}" if high is not None else f"{low} or more"
            shown = value if abs(value) < 10 ** 12 else f"a {len(str(abs(value)))}-digit number"
            raise OperationError(f"{option}: must be {span}, got {shown}")
    command = out.get("command")
    if isinstance(command, str):
        try:
            out["command"] = shlex.split(command)
        except ValueError as exc:
            raise OperationError(f"command: {exc.args[0].lower()} in {command!r}") from None
    elif command is not None:
        if not isinstance(command, list):
            raise OperationError("command: must be a string or a list")
        out["command"] = [str(part) for part in command]
    for option in ("env", "build_args"):
        if out.get(option):
            out[option] = _strings(option, out[option])
    for option in ("image", "target"):
        if out.get(option) is not None:
            try:
                parse_image(out[option])
            except ValueError as exc:
                raise OperationError(f"{option}: {exc}") from None
    if out.get("op") == "save" and not out.get("image") and not out.get("images"):
        raise OperationError("image: op=save needs it (or images)")
    for index, reference in enumerate(out.get("images") or []):
        try:
            parse_image(reference)
        except ValueError as exc:
            raise OperationError(f"images[{index}]: {exc}") from None
    if out.get("platform") is not None:
        try:
            out["platform"] = str(parse_platform(out["platform"]))
        except ImageIndexError as exc:
            raise OperationError(f"platform: {exc}") from None
    for option in ("src", "dest", "dockerfile", "name"):
        if "\x00" in (out.get(option) or ""):
            raise OperationError(f"{option}: must not contain a NUL character")
    return out


def defaults() -> dict:
    """Each option's default, against which check_options tells a set option."""
    return {name: option.get("default") for name, option in argument_spec().items()
            if name not in ("op", "each", "docker_host", "timeout")}


def expand_each(params: dict) -> list[dict]:
    """The option sets to run: the task's alone, or one per entry of ``each``
    with the entry's options over the task's. Each is checked (types, then
    what the op needs and takes, then ``normalize_params``) before anything runs."""
    entries = params.get("each")
    if entries is None:
        check_options(params, defaults())
        return [normalize_params(params)]
    if not entries:
        raise OperationError("each: give at least one entry, or leave each out")
    spec = argument_spec()
    validator = ArgumentSpecValidator({name: spec[name] for name in ENTRY_OPTIONS})
    runs = []
    for index, entry in enumerate(entries):
        where = f"each[{index}]."
        unknown = sorted(str(key) for key in entry if key not in ENTRY_OPTIONS)
        if unknown:
            raise OperationError(f"{where}{unknown[0]}: an entry sets only {', '.join(ENTRY_OPTIONS)}")
        checked = validator.validate(entry)
        if checked.error_messages:
            raise OperationError(f"{where[:-1]}: {checked.error_messages[0]}")
        merged = dict(params, **{k: v for k, v in checked.validated_parameters.items() if k in entry})
        check_options(merged, defaults(), where)
        try:
            runs.append(normalize_params(merged))
        except OperationError as exc:
            raise OperationError(f"{where}{exc}") from None
    return runs


def run_each(client: Any, runs: list[dict], check_mode: bool) -> dict:
    """Every option set in order on one connection; the answers as a loop's ``results``."""
    results = []
    for index, params in enumerate(runs):
        try:
            results.append(run_operation(client, params, check_mode))
        except OperationError as exc:
            raise OperationError(f"each[{index}]: {exc}", **getattr(exc, "details", {})) from None
    diffs = [result.pop("diff") for result in results if "diff" in result]
    answer = {"changed": any(r.get("changed") for r in results), "results": results, "op": runs[0]["op"]}
    return dict(answer, diff=diffs) if diffs else answer


def main() -> None:
    """Entry point: validate, connect, run the operation (once per entry of each), report."""
    module = build_module(argument_spec(), required_together=REQUIRED_TOGETHER, supports_check_mode=True)
    try:
        runs = expand_each(module.params)
    except OperationError as exc:
        module.fail_json(msg=str(exc))
    op = module.params["op"]

    def work(client: Any) -> dict:
        if module.params["each"] is None:
            return run_operation(client, runs[0], module.check_mode)
        return run_each(client, runs, module.check_mode)

    exit_with_engine_result(module, work, f"op={op}", (OperationError,), own_prefix=False, op=op)


if __name__ == "__main__":
    main()
