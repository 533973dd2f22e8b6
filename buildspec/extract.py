#!/usr/bin/env python3
"""Validate an uploaded build context and extract it safely.

usage: extract.py <get-object-response.json> <archive> <context-dir> <out-dir>

Reads the upload metadata from the `aws s3api get-object` response (dockerfile, build-args,
target, platforms), checks each value, extracts the archive with tarfile's 'data' filter (it
refuses absolute paths, '..', links that escape the destination and device files), checks that
the Dockerfile exists, then writes for build-image.sh:
  <out-dir>/build.env     shell-quoted DOCKERFILE, BUILD_TARGET, BUILD_PLATFORMS
  <out-dir>/build-args    NAME=VALUE entries separated by NUL bytes
Exits 2 with one line that starts with "ecr-pipeline:" when the upload is not acceptable.
"""

import json
import os
import posixpath
import re
import shlex
import sys
import tarfile
import zlib

# Names of the upload metadata (functions/shared/contract.ts UPLOAD_METADATA); S3 lower-cases them.
META_DOCKERFILE = "dockerfile"
META_BUILD_ARGS = "build-args"
META_TARGET = "target"
META_PLATFORMS = "platforms"

BUILD_ARG_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TARGET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
PLATFORM = re.compile(r"^[a-z0-9]+/[a-z0-9_]+(?:/[a-z0-9]+)?$")
# A context that expands beyond this is refused before it fills the build's disk.
MAX_EXTRACTED_BYTES = int(os.environ.get("CONTEXT_MAX_EXTRACTED_BYTES", str(20 * 1024**3)))


class Refused(Exception):
    """The upload cannot be built; the message says why, for people."""


def check_dockerfile(value):
    if value == "" or len(value) > 1024:
        raise Refused(f'metadata "{META_DOCKERFILE}" must be a path of 1 to 1024 characters')
    if value.startswith("/") or "\\" in value or "\x00" in value:
        raise Refused(f'metadata "{META_DOCKERFILE}" must be a relative path inside the context, got "{value}"')
    normal = posixpath.normpath(value)
    if normal == ".." or normal.startswith("../"):
        raise Refused(f'metadata "{META_DOCKERFILE}" points outside the context: "{value}"')
    return normal


def check_build_args(value):
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as error:
        raise Refused(f'metadata "{META_BUILD_ARGS}" is not valid JSON: {error.msg}') from error
    if not isinstance(parsed, dict):
        raise Refused(f'metadata "{META_BUILD_ARGS}" must be a JSON object of strings, like {{"NAME": "value"}}')
    for name, arg in parsed.items():
        if not BUILD_ARG_NAME.match(name):
            raise Refused(f'build arg name "{name}" is not valid: letters, digits and "_", not starting with a digit')
        if not isinstance(arg, str):
            raise Refused(f'build arg "{name}" must be a string, got {json.dumps(arg)}')
        if "\x00" in arg:
            raise Refused(f'build arg "{name}" contains a NUL character')
    return parsed


def check_target(value):
    if not TARGET.match(value):
        raise Refused(f'metadata "{META_TARGET}" is not a valid stage name: "{value}"')
    return value


def check_platforms(value):
    platforms = [part.strip() for part in value.split(",") if part.strip() != ""]
    if not platforms:
        raise Refused(f'metadata "{META_PLATFORMS}" is empty; give platforms like "linux/amd64,linux/arm64"')
    for platform in platforms:
        if not PLATFORM.match(platform):
            raise Refused(f'platform "{platform}" is not of the form os/arch[/variant], like linux/arm64')
    return ",".join(dict.fromkeys(platforms))


def read_metadata(response_path):
    with open(response_path, encoding="utf-8") as file:
        response = json.load(file)
    metadata = {key.lower(): value for key, value in (response.get("Metadata") or {}).items()}
    dockerfile = check_dockerfile(metadata.get(META_DOCKERFILE, "Dockerfile"))
    build_args = check_build_args(metadata[META_BUILD_ARGS]) if META_BUILD_ARGS in metadata else {}
    target = check_target(metadata[META_TARGET]) if metadata.get(META_TARGET) else ""
    platforms = check_platforms(metadata[META_PLATFORMS]) if META_PLATFORMS in metadata else ""
    return dockerfile, build_args, target, platforms


def extract(archive, destination):
    if not hasattr(tarfile, "data_filter"):
        raise Refused(
            f"Python {sys.version.split()[0]} has no tarfile extraction filters; "
            "safe extraction needs Python 3.11.4 or later"
        )
    try:
        with tarfile.open(archive, mode="r:*") as tar:
            members = tar.getmembers()
            total = sum(member.size for member in members if member.isfile())
            if total > MAX_EXTRACTED_BYTES:
                raise Refused(
                    f"the context expands to {total} bytes, more than the {MAX_EXTRACTED_BYTES} allowed"
                )
            tar.extractall(destination, members=members, filter="data")
            check_complete(tar)
    except tarfile.FilterError as error:
        raise Refused(f"the context archive has an unsafe entry and was not extracted: {error}") from error
    except (tarfile.ReadError, EOFError, OSError, zlib.error) as error:
        raise Refused(f"the context is not a readable tar or tar.gz archive: {error}") from error


def check_complete(tar):
    # tarfile ends the member list without an error at a damaged header after the first member: what
    # follows the last member must be the end-of-archive zero blocks (or nothing), and a compressed
    # archive must decompress to its end, where its checksum is checked.
    tar.fileobj.seek(tar.offset)
    if tar.fileobj.read(tarfile.BLOCKSIZE).strip(b"\0"):
        last = tar.members[-1].name if tar.members else "its start"
        raise Refused(f"the context archive is damaged or cut short after {last}")
    while tar.fileobj.read(1024 * 1024):
        pass


def check_dockerfile_present(destination, dockerfile):
    root = os.path.realpath(destination)
    path = os.path.realpath(os.path.join(root, dockerfile))
    if not (path.startswith(root + os.sep) and os.path.isfile(path)):
        raise Refused(f"no Dockerfile at {dockerfile} in the context")


def main(argv):
    if len(argv) != 5:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 64
    response_path, archive, destination, out_dir = argv[1:]
    try:
        dockerfile, build_args, target, platforms = read_metadata(response_path)
        os.makedirs(destination, exist_ok=True)
        extract(archive, destination)
        check_dockerfile_present(destination, dockerfile)
    except Refused as refused:
        print(f"ecr-pipeline: {refused}", file=sys.stderr)
        return 2
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "build.env"), "w", encoding="utf-8") as env:
        env.write(f"DOCKERFILE={shlex.quote(dockerfile)}\n")
        env.write(f"BUILD_TARGET={shlex.quote(target)}\n")
        env.write(f"BUILD_PLATFORMS={shlex.quote(platforms)}\n")
    with open(os.path.join(out_dir, "build-args"), "wb") as args:
        for name, value in build_args.items():
            args.write(f"{name}={value}".encode() + b"\x00")
    summary = ", ".join(
        part
        for part in (
            f"dockerfile {dockerfile}",
            f"target {target}" if target else "",
            f"platforms {platforms}" if platforms else "",
            f"build args {', '.join(build_args)}" if build_args else "",
        )
        if part
    )
    print(f"ecr-pipeline: context extracted ({summary})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
