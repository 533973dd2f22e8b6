#!/usr/bin/env python3
"""Validate an uploaded build context and extract it safely.

usage: extract.py <get-object-response.json> <archive> <context-dir> <out-dir>

Reads the upload metadata from the GetObject answer build-session.mjs wrote (dockerfile, build-args,
target, platforms), checks each value, then checks every entry of the archive before anything is
written: its path and every link target are resolved component by component against the archive's
own entries (links through links included), as the kernel would, and must stay inside the context;
names, depth and link targets have length limits; devices and FIFOs are refused and setuid, setgid
and sticky bits dropped; the number of entries (CONTEXT_MAX_FILES) and the extracted size
(CONTEXT_MAX_EXTRACTED_BYTES) are limited. It does not rely on tarfile's 'data' filter, whose
realpath checks a symlink chain longer than PATH_MAX defeats before Python 3.12.11 / 3.13.4
(CVE-2025-4517), but extracts with it as well. Then it checks that the Dockerfile exists and writes
for build-image.sh:
  <out-dir>/build.env     shell-quoted DOCKERFILE, BUILD_TARGET, BUILD_PLATFORMS
  <out-dir>/build-args    NAME=VALUE entries separated by NUL bytes
  <out-dir>/build-secrets ID=NAME entries of the build secrets (names, not values), NUL-separated
The values of the build secrets are read by build-session.mjs --secrets (buildspec/session/), with
a session of their own that may read exactly these names.
Exits 2 with one line that starts with "ecr-pipeline:" when the upload is not acceptable (1 with
such a line on an unexpected failure), never with a traceback; the same reason goes to
<out-dir>/verdict, where the pipeline reads it.
"""

import json
import os
import posixpath
import re
import shlex
import sys
import tarfile
import zlib

try:
    from lzma import LZMAError
except ImportError:  # a Python built without lzma opens no .tar.xz either
    LZMAError = tarfile.TarError

# Names of the upload metadata (functions/shared/contract.ts UPLOAD_METADATA); S3 lower-cases them.
META_DOCKERFILE = "dockerfile"
META_BUILD_ARGS = "build-args"
META_TARGET = "target"
META_PLATFORMS = "platforms"
META_LAMBDA_SAFE = "lambda-safe"
META_SECRETS = "secrets"

# Matched with fullmatch: `$` also matches before a trailing newline, so `re.match` would let
# "NAME\n" through.
BUILD_ARG_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TARGET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
PLATFORM = re.compile(r"^[a-z0-9]+/[a-z0-9_]+(?:/[a-z0-9]+)?$")
# Defaults of the stack's maxContextFiles and maxExtractedContextBytes parameters, which the build
# passes as CONTEXT_MAX_FILES and CONTEXT_MAX_EXTRACTED_BYTES: more entries than this are refused
# before they are all read (the same default as `submit --max-files`), and a context that expands
# beyond this before it fills the build's disk.
MAX_CONTEXT_FILES = 50_000
MAX_EXTRACTED_BYTES = 20 * 1024**3


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
        if not BUILD_ARG_NAME.fullmatch(name):
            raise Refused(f'build arg name "{name}" is not valid: letters, digits and "_", not starting with a digit')
        if not isinstance(arg, str):
            raise Refused(f'build arg "{name}" must be a string, got {json.dumps(arg)}')
        if "\x00" in arg:
            raise Refused(f'build arg "{name}" contains a NUL character')
    return parsed


def check_target(value):
    if not TARGET.fullmatch(value):
        raise Refused(f'metadata "{META_TARGET}" is not a valid stage name: "{value}"')
    return value


def check_platforms(value):
    platforms = [part.strip() for part in value.split(",") if part.strip() != ""]
    if not platforms:
        raise Refused(f'metadata "{META_PLATFORMS}" is empty; give platforms like "linux/amd64,linux/arm64"')
    for platform in platforms:
        if not PLATFORM.fullmatch(platform):
            raise Refused(f'platform "{platform}" is not of the form os/arch[/variant], like linux/arm64')
    return ",".join(dict.fromkeys(platforms))


def read_metadata(response_path, secrets_prefix=None):
    with open(response_path, encoding="utf-8") as file:
        response = json.load(file)
    metadata = {key.lower(): value for key, value in (response.get("Metadata") or {}).items()}
    dockerfile = check_dockerfile(metadata.get(META_DOCKERFILE, "Dockerfile"))
    build_args = check_build_args(metadata[META_BUILD_ARGS]) if META_BUILD_ARGS in metadata else {}
    target = check_target(metadata[META_TARGET]) if metadata.get(META_TARGET) else ""
    platforms = check_platforms(metadata[META_PLATFORMS]) if META_PLATFORMS in metadata else ""
    # The build-trigger refuses these uploads before any build; a build started otherwise still
    # never makes an image index of a Lambda-safe upload.
    if "," in platforms and str(metadata.get(META_LAMBDA_SAFE, "")).strip().lower() == "true":
        raise Refused(f'metadata "{META_LAMBDA_SAFE}" is true: {platforms} would make an image index, which Lambda refuses')
    secrets = check_secrets(metadata[META_SECRETS], secrets_prefix) if META_SECRETS in metadata else {}
    return dockerfile, build_args, target, platforms, secrets


# Build secrets (docs/build-secrets.md): `secrets` maps a secret id (what a Dockerfile names in
# `RUN --mount=type=secret,id=ID`) to the name of an SSM SecureString parameter or Secrets Manager
# secret under the stack's buildSecretsPrefix, the only names the build role may read. The values
# are fetched by build-session.mjs --secrets into files of the pipeline's own folder, never printed.
SECRET_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
# The characters SSM parameter names and Secrets Manager names have in common (less "+=@").
SECRET_NAME = re.compile(r"^[A-Za-z0-9_./-]{1,512}$")
SECRETS_PREFIX = re.compile(r"^/(?:[A-Za-z0-9_.-]+/)+$")
# An SSM GetParameters call takes at most 10 names: one call reads them all.
MAX_SECRETS = 10
# Words that make a build arg name look like a credential (its value would be in the image's history).
CREDENTIAL_WORDS = re.compile(
    r"(?:^|_)(?:KEY|PWD|PASSWD|AUTH)(?:_|$)|TOKEN|PASSWORD|SECRET|APIKEY|CREDENTIAL", re.IGNORECASE
)


def check_secrets_prefix(prefix):
    """The stack's buildSecretsPrefix (BUILD_SECRETS_PREFIX): an absolute path that ends with "/"."""
    if prefix is None or prefix == "":
        raise Refused("this stack allows no build secrets: the build has no BUILD_SECRETS_PREFIX")
    if not SECRETS_PREFIX.match(prefix) or "/../" in prefix or "/./" in prefix:
        raise Refused(
            f'BUILD_SECRETS_PREFIX must be a path like "/service/stage/build-secrets/" '
            f"(starting and ending with /), got {shown(prefix)}"
        )
    return prefix


def check_secret(secret_id, name, prefix):
    """Refuses an id that is not [A-Za-z0-9_.-] and a name outside the prefix; says which and why."""
    if not isinstance(secret_id, str) or not SECRET_ID.match(secret_id) or secret_id.strip(".") == "":
        raise Refused(
            f"build secret id {shown(secret_id)} is not valid: 1 to 64 letters, digits, "
            '"_", "." and "-" (the id of RUN --mount=type=secret,id=...)'
        )
    if not isinstance(name, str):
        raise Refused(f"build secret {secret_id} must name a parameter or secret as a string, got {shown(name)}")
    if not SECRET_NAME.match(name):
        raise Refused(
            f"build secret {secret_id}: {shown(name)} is not a parameter or secret name "
            '(letters, digits, "_", ".", "-" and "/", at most 512 characters)'
        )
    parts = name.split("/")
    if any(part in (".", "..") for part in parts) or "//" in name or name.endswith("/"):
        raise Refused(f"build secret {secret_id}: {shown(name)} is not a plain path (no ., .., // or trailing /)")
    if not name.startswith(prefix) or len(name) == len(prefix):
        raise Refused(
            f"build secret {secret_id}: {shown(name)} is outside {prefix}, the only names the build may read "
            "(the stack's buildSecretsPrefix parameter)"
        )
    return name


def check_secrets(value, prefix):
    """The `secrets` metadata: {"ID": "NAME"} or ["ID=NAME", ...]; returns {id: name} in order."""
    try:
        parsed = json.loads(value, object_pairs_hook=lambda pairs: pairs)
    except json.JSONDecodeError as error:
        raise Refused(f'metadata "{META_SECRETS}" is not valid JSON: {error.msg}') from error
    if isinstance(parsed, list) and all(isinstance(item, str) for item in parsed):
        pairs = [tuple(item.split("=", 1)) if "=" in item else (item, None) for item in parsed]
    elif isinstance(parsed, list) and all(isinstance(item, tuple) for item in parsed):
        pairs = parsed
    else:
        raise Refused(
            f'metadata "{META_SECRETS}" must be a JSON object like {{"ID": "NAME"}} or a list like ["ID=NAME"]'
        )
    prefix = check_secrets_prefix(prefix) if pairs else prefix
    if len(pairs) > MAX_SECRETS:
        raise Refused(f"an upload may ask for at most {MAX_SECRETS} build secrets, got {len(pairs)}")
    secrets = {}
    for secret_id, name in pairs:
        if name is None:
            raise Refused(f"build secret {shown(secret_id)} names no parameter or secret: give ID=NAME")
        check_secret(secret_id, name, prefix)
        if secret_id in secrets:
            raise Refused(f"build secret id {secret_id} is given twice")
        secrets[secret_id] = name
    return secrets


def credential_like(name):
    """True when a build arg's name looks like it carries a credential."""
    return CREDENTIAL_WORDS.search(name) is not None


def warn_credential_args(build_args):
    """One warning line per build arg whose name looks like a credential (values never shown)."""
    for name in build_args:
        if credential_like(name):
            print(
                f"ecr-pipeline: warning: build arg {name} looks like a credential; build arg values are "
                "recorded in the image's history: pass it with `submit --secret` and read it with "
                "RUN --mount=type=secret instead (docs/build-secrets.md)"
            )


# Limits on what one archive entry may ask for. Linux refuses names over 255 bytes and paths over
# 4096; keeping well under them means the kernel and the checks below always agree on a path.
MAX_NAME_BYTES = 1024
MAX_COMPONENT_BYTES = 255
MAX_DEPTH = 64
MAX_LINK_TARGET_BYTES = 1024
# As the kernel (MAXSYMLINKS): more links than this while resolving one path is a loop or a trap.
MAX_LINK_HOPS = 40

DIR, FILE, SYMLINK = "directory", "file", "symlink"


def shown(name, limit=120):
    """A name from the archive, quoted on one line and cut short, for a message."""
    text = json.dumps(name, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 4] + '..."'


def components(path, what):
    """The parts of a relative archive path; refuses absolute paths and over-long ones."""
    if "\x00" in path:
        raise Unsafe(f"{what} {shown(path)} contains a NUL character")
    if len(os.fsencode(path)) > MAX_NAME_BYTES:
        raise Unsafe(f"{what} {shown(path)} is longer than {MAX_NAME_BYTES} bytes")
    if path.startswith("/"):
        raise Unsafe(f"{what} {shown(path)} is an absolute path")
    parts = [part for part in path.split("/") if part not in ("", ".")]
    for part in parts:
        if len(os.fsencode(part)) > MAX_COMPONENT_BYTES:
            raise Unsafe(f"{what} {shown(path)} has a name longer than {MAX_COMPONENT_BYTES} bytes")
    if len(parts) > MAX_DEPTH:
        raise Unsafe(f"{what} {shown(path)} is more than {MAX_DEPTH} levels deep")
    return parts


class Unsafe(Exception):
    """An archive entry that would reach outside the context or is not allowed in one."""


class ContextTree:
    """What extracting the entries seen so far makes of the context folder, by archive path.

    Paths are resolved component by component as the kernel would, following the symbolic links
    of the archive itself, so a link that climbs through other links is judged by where it
    really lands, without touching the disk and whatever the interpreter's realpath does.
    """

    def __init__(self):
        self.kinds = {(): DIR}
        self.links = {}

    def resolve(self, parts, follow_last, what, name):
        """The canonical path (a tuple of names inside the context) that `parts` reaches."""
        resolved = []
        pending = list(parts)
        hops = 0
        while pending:
            part = pending.pop(0)
            if part in ("", "."):
                continue
            if part == "..":
                if not resolved:
                    raise Unsafe(f"{what} {shown(name)} leads outside the context")
                resolved.pop()
                continue
            here = (*resolved, part)
            kind = self.kinds.get(here)
            if kind == SYMLINK and (pending or follow_last):
                hops += 1
                if hops > MAX_LINK_HOPS:
                    raise Unsafe(f"{what} {shown(name)} goes through more than {MAX_LINK_HOPS} symbolic links")
                target = self.links[here]
                # Checked when the link was added: relative, so it continues from the link's folder.
                pending = [p for p in target.split("/") if p not in ("", ".")] + pending
                continue
            if kind == FILE and pending:
                raise Unsafe(f"{what} {shown(name)} uses the file {shown('/'.join(here))} as a folder")
            resolved.append(part)
            if len(resolved) > MAX_DEPTH:
                raise Unsafe(f"{what} {shown(name)} leads more than {MAX_DEPTH} levels deep")
        return tuple(resolved)

    def add(self, member):
        """Records one entry, or raises Unsafe when extracting it could write outside the context."""
        name = member.name
        parts = components(name, "entry")
        if ".." in parts:
            raise Unsafe(f"entry {shown(name)} has a '..' in its path")
        if not parts:
            if member.isdir():
                return
            raise Unsafe(f"entry {shown(name)} has no name")
        if member.ischr() or member.isblk() or member.isfifo():
            raise Unsafe(f"entry {shown(name)} is a device or a FIFO")
        if not (member.isreg() or member.isdir() or member.issym() or member.islnk()):
            raise Unsafe(f"entry {shown(name)} is of an unsupported type {shown(member.type.decode('latin-1'))}")
        folder = self.resolve(parts[:-1], True, "entry", name)
        for depth in range(1, len(folder) + 1):
            if self.kinds.setdefault(folder[:depth], DIR) != DIR:
                raise Unsafe(f"entry {shown(name)} is inside something that is not a folder")
        path = (*folder, parts[-1])
        existing = self.kinds.get(path)
        if existing is not None and not (existing == DIR and member.isdir()):
            # Extraction would replace it or write through it (a file written over a symlink opens
            # the symlink's target): an archive never needs that.
            raise Unsafe(f"entry {shown(name)} is in the archive twice (or under another name)")
        if member.issym():
            target = member.linkname
            if len(os.fsencode(target)) > MAX_LINK_TARGET_BYTES:
                raise Unsafe(f"symbolic link {shown(name)} has a target longer than {MAX_LINK_TARGET_BYTES} bytes")
            if target.startswith("/"):
                raise Unsafe(f"symbolic link {shown(name)} points to the absolute path {shown(target)}")
            components(target, f"target of symbolic link {shown(name)}:")
            lands = self.resolve([*folder, *target.split("/")], True, f"symbolic link {shown(name)} ->", target)
            if lands == path or lands[: len(path)] == path:
                raise Unsafe(f"symbolic link {shown(name)} points into itself")
            self.links[path] = target
            self.kinds[path] = SYMLINK
        elif member.islnk():
            target = member.linkname
            if len(os.fsencode(target)) > MAX_LINK_TARGET_BYTES:
                raise Unsafe(f"hard link {shown(name)} has a target longer than {MAX_LINK_TARGET_BYTES} bytes")
            what = f"hard link {shown(name)} ->"
            lands = self.resolve(components(target, f"target of {what}"), True, what, target)
            if self.kinds.get(lands) != FILE:
                raise Unsafe(f"hard link {shown(name)} does not point to a file extracted before it")
            self.kinds[path] = FILE
        else:
            self.kinds[path] = DIR if member.isdir() else FILE
        if not member.issym():
            # No setuid, setgid or sticky bit, and nobody else may write (the data filter agrees).
            member.mode = (member.mode or 0) & 0o755
        return path

    def check_links(self):
        """Every symbolic link, judged again once all entries are in: a link added later can move
        where an earlier one lands (`l -> x/..` and then `x -> .`)."""
        for path, target in self.links.items():
            self.resolve([*path[:-1], *target.split("/")], True, f"symbolic link {shown('/'.join(path))} ->", target)


# A GNU long name or long link, or a pax header, is read whole into memory by tarfile before any
# check of ours sees its entry: one that claims 1 GiB would cost the build its memory first. Names
# are at most MAX_NAME_BYTES; a pax header holds a few records. Anything larger is refused unread.
MAX_HEADER_BYTES = 64 * 1024
EXTENDED_HEADERS = (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK, tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE)


class BoundedTarInfo(tarfile.TarInfo):
    """A TarInfo that refuses an oversized extended header before tarfile reads it."""

    def _proc_member(self, tar):
        if self.type in EXTENDED_HEADERS and self.size > MAX_HEADER_BYTES:
            raise Refused(
                f"the context archive has a long-name or extended header of {self.size} bytes "
                f"(at most {MAX_HEADER_BYTES}) and was not extracted"
            )
        return super()._proc_member(tar)


def plan(tar, max_files, max_bytes):
    """Reads the headers one by one and checks each entry; stops at the first that is refused."""
    tree = ContextTree()
    files = dirs = total = 0
    members = []
    while True:
        member = tar.next()
        if member is None:
            try:
                tree.check_links()
            except Unsafe as unsafe:
                raise Refused(f"the context archive has an unsafe entry and was not extracted: {unsafe}") from None
            return members
        if member.isdir():
            dirs += 1
        else:
            files += 1
        if files > max_files or dirs > max_files:
            what = "files and links" if files > max_files else "folders"
            raise Refused(
                f"the context has more than {max_files} {what}, the limit (the stack's maxContextFiles parameter); "
                "leave what the build does not need out with .dockerignore"
            )
        try:
            tree.add(member)
        except Unsafe as unsafe:
            raise Refused(f"the context archive has an unsafe entry and was not extracted: {unsafe}") from None
        if member.isreg():
            total += member.size
            if total > max_bytes:
                raise Refused(
                    f"the context expands to more than {max_bytes} bytes, the limit "
                    "(the stack's maxExtractedContextBytes parameter)"
                )
        members.append(member)


def extract(archive, destination, max_files=None, max_bytes=None):
    if not hasattr(tarfile, "data_filter"):
        raise Refused(
            f"Python {sys.version.split()[0]} has no tarfile extraction filters; "
            "safe extraction needs Python 3.11.4 or later"
        )
    if os.listdir(destination):
        raise Refused(f"the context folder {destination} is not empty")
    max_files = MAX_CONTEXT_FILES if max_files is None else max_files
    max_bytes = MAX_EXTRACTED_BYTES if max_bytes is None else max_bytes
    try:
        with tarfile.open(archive, mode="r:*", tarinfo=BoundedTarInfo) as tar:
            members = plan(tar, max_files, max_bytes)
            check_complete(tar)
            try:
                # The data filter as well: a second opinion where the interpreter's filter works.
                tar.extractall(destination, members=members, filter="data")
            except tarfile.FilterError:
                raise
            except OSError as error:
                raise Refused(f"the context could not be extracted: {error}") from error
    except tarfile.FilterError as error:
        raise Refused(f"the context archive has an unsafe entry and was not extracted: {error}") from error
    except (tarfile.TarError, EOFError, OSError, zlib.error, LZMAError) as error:
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


def limit(name, default):
    value = os.environ.get(name, "")
    if value == "":
        return default
    if not value.isdigit() or int(value) < 1:
        raise Refused(f"{name} must be a positive whole number, got {shown(value)}")
    return int(value)


def run(response_path, archive, destination, out_dir):
    max_files = limit("CONTEXT_MAX_FILES", MAX_CONTEXT_FILES)
    max_bytes = limit("CONTEXT_MAX_EXTRACTED_BYTES", MAX_EXTRACTED_BYTES)
    dockerfile, build_args, target, platforms, secrets = read_metadata(
        response_path, os.environ.get("BUILD_SECRETS_PREFIX")
    )
    warn_credential_args(build_args)
    os.makedirs(destination, exist_ok=True)
    extract(archive, destination, max_files, max_bytes)
    check_dockerfile_present(destination, dockerfile)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "build.env"), "w", encoding="utf-8") as env:
        env.write(f"DOCKERFILE={shlex.quote(dockerfile)}\n")
        env.write(f"BUILD_TARGET={shlex.quote(target)}\n")
        env.write(f"BUILD_PLATFORMS={shlex.quote(platforms)}\n")
    with open(os.path.join(out_dir, "build-args"), "wb") as args:
        for name, value in build_args.items():
            args.write(f"{name}={value}".encode() + b"\x00")
    write_secret_names(out_dir, secrets)
    return ", ".join(
        part
        for part in (
            f"dockerfile {dockerfile}",
            f"target {target}" if target else "",
            f"platforms {platforms}" if platforms else "",
            f"build args {', '.join(build_args)}" if build_args else "",
            f"build secrets {', '.join(secrets)}" if secrets else "",
        )
        if part
    )


def write_secret_names(out_dir, secrets):
    """<out-dir>/build-secrets: ID=NAME entries separated by NUL bytes (names only, never values)."""
    with open(os.path.join(out_dir, "build-secrets"), "wb") as file:
        for secret_id, name in secrets.items():
            file.write(f"{secret_id}={name}".encode() + b"\x00")


def verdict(work_dir, reason, status):
    """Prints the refusal for the log and writes it to <work-dir>/verdict, which the buildspec
    exports (PIPELINE_VERDICT): the pipeline reads it there, never from the log."""
    line = " ".join(reason.split())
    print(f"ecr-pipeline: {line}", file=sys.stderr)
    os.makedirs(work_dir, exist_ok=True)
    with open(os.path.join(work_dir, "verdict"), "w", encoding="utf-8") as out:
        out.write(line + "\n")
    return status


def main(argv):
    if len(argv) != 5:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 64
    # Whatever goes wrong ends in one line that names it (the build log and the notification show
    # it), never a traceback.
    try:
        summary = run(*argv[1:])
    except Refused as refused:
        return verdict(argv[4], str(refused), 2)
    except MemoryError:
        return verdict(argv[4], "the build ran out of memory reading the context archive", 2)
    except Exception as error:  # noqa: BLE001 - reported as one line, see above
        detail = " ".join(str(error).split())[:300]
        return verdict(argv[4], f"the context could not be extracted: {type(error).__name__}: {detail}", 1)
    print(f"ecr-pipeline: context extracted ({summary})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
