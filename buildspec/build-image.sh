#!/usr/bin/env bash
# Builds the extracted context and pushes IMAGE_REPOSITORY_URI:IMAGE_TAG, then writes the pushed
# digest to "$2/digest".
#
# usage: build-image.sh <context-dir> <work-dir>
#        build-image.sh --login <work-dir>   (only the registry logins; the buildspec runs it while
#                                             it fetches the context, and the build then skips them)
#   <work-dir> holds build.env and build-args written by extract.py.
# Environment: IMAGE_REPOSITORY_URI, IMAGE_TAG, CONTEXT_BUCKET, CONTEXT_KEY, CONTEXT_VERSION_ID,
#   AWS_REGION; optional CACHE_REPOSITORY_URI (registry cache, empty = none), REGISTRY_CACHE
#   (auto | on | off; auto = with docker buildx, whose CodeBuild builder starts empty every time,
#   not with podman/buildah, whose layer store stays where they run), BUILDER
#   (docker | podman | buildah; default: docker when an engine answers, else podman, else buildah),
#   CONTEXT_ETAG (the upload's ETag: how an unversioned bucket tells a newer upload), BUILDKIT_IMAGE
#   and BINFMT_IMAGE (the helper images of the docker buildx path, pinned by digest).
#
# Just before pushing, the build checks that its object is still the newest upload of its key and
# otherwise stops as superseded: of two quick uploads of one key, the newer always ends up under
# the tag. Nothing from the upload (key, metadata, repository name) is ever run as shell code: it is
# passed as arguments, and build.env holds values extract.py quoted.
#
# Docker (CodeBuild standard images, privileged mode) builds with buildx and a BuildKit registry
# cache; podman and buildah (no Docker engine, e.g. the local cloud) run as root in a container
# need cgroupfs and chroot isolation for RUN steps.
set -euo pipefail

mode=build
if [[ $1 == --login ]]; then mode=login; fi
context=$1
work=$2
say() { printf 'ecr-pipeline: [%ss] %s\n' "$SECONDS" "$*"; }
fail() { say "$*" >&2; exit 1; }
# The build's outcome in one line that starts "ecr-pipeline: <code>:" (notifications show it).
stop() { printf 'ecr-pipeline: %s\n' "${*//[$'\n\r']/ }" >&2; exit 1; }

: "${IMAGE_REPOSITORY_URI:?}" "${IMAGE_TAG:?}" "${CONTEXT_BUCKET:?}" "${CONTEXT_KEY:?}"
region=${AWS_REGION:-${AWS_DEFAULT_REGION:?AWS_REGION is not set}}
image="$IMAGE_REPOSITORY_URI:$IMAGE_TAG"
registry=${IMAGE_REPOSITORY_URI%%/*}

# Published releases, pinned (digests as listed for moby/buildkit v0.31.2, then buildx-stable-1,
# and tonistiigi/binfmt qemu-v10.2.3 on Docker Hub); the stack sets them from its buildkitImage
# and binfmtImage parameters.
buildkit_image=${BUILDKIT_IMAGE:-moby/buildkit:v0.31.2@sha256:2f5adac4ecd194d9f8c10b7b5d7bceb5186853db1b26e5abd3a657af0b7e26ec}
binfmt_image=${BINFMT_IMAGE:-tonistiigi/binfmt:qemu-v10.2.3@sha256:400a4873b838d1b89194d982c45e5fb3cda4593fbfd7e08a02e76b03b21166f0}

builder=${BUILDER:-}
if [[ -z $builder ]]; then
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    builder=docker
  elif command -v podman >/dev/null; then
    builder=podman
  elif command -v buildah >/dev/null; then
    builder=buildah
  else
    fail "no image builder: need a Docker engine, podman or buildah"
  fi
fi
[[ $mode == login ]] || say "builder: $builder"

# Plain HTTP is used for a registry on the loopback interface only (the local cloud's registry).
tls=()
case $registry in
  127.0.0.1:* | localhost:* | \[::1\]:*) tls=(--tls-verify=false) ;;
esac
podman=(podman --cgroup-manager=cgroupfs)
buildah=(buildah)

login() {
  local host=$1
  case $builder in
    docker) aws ecr get-login-password --region "$region" | docker login --username AWS --password-stdin "$host" ;;
    podman) aws ecr get-login-password --region "$region" | "${podman[@]}" login "${tls[@]}" --username AWS --password-stdin "$host" ;;
    buildah) aws ecr get-login-password --region "$region" | buildah login "${tls[@]}" --username AWS --password-stdin "$host" ;;
  esac
}
cache=${CACHE_REPOSITORY_URI:-}
if [[ ! -f $work/logged-in ]]; then
  login "$registry"
  if [[ -n $cache && ${cache%%/*} != "$registry" ]]; then login "${cache%%/*}"; fi
  say "logged in to $registry ($builder)"
  touch "$work/logged-in"
fi
[[ $mode == build ]] || exit 0

# shellcheck source=/dev/null
source "$work/build.env"

source_uri="s3://$CONTEXT_BUCKET/$CONTEXT_KEY"
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
if [[ -n $BUILD_PLATFORMS ]]; then args+=(--platform "$BUILD_PLATFORMS"); fi

# Build secrets (docs/build-secrets.md): extract.py reads each value into a file of its own in
# "$work/secrets" (mode 0600, never in the context), and the builder mounts it for the RUN steps that
# ask for it (RUN --mount=type=secret,id=ID): it is in no layer, no history entry and no log line.
# Tracing is off while they are read, whatever the caller set; the files go once the build has
# pushed (and with the whole work folder in the buildspec's finally, whatever happens).
mount_build_secrets() {
  [[ -s $work/build-secrets ]] || return 0
  local tracing=$- status=0 mount
  set +x
  python3 "$work/extract.py" --fetch-secrets "$work" || status=$?
  if [[ $tracing == *x* ]]; then set -x; fi
  ((status == 0)) || exit "$status"
  while IFS= read -r -d '' mount; do args+=(--secret "$mount"); done <"$work/secret-args"
}
remove_build_secrets() {
  rm -rf "$work/secrets" "$work/secret-args"
}
mount_build_secrets

# One cache tag per repository in a shared, mutable cache repository: ECR refuses to overwrite a tag
# in an IMMUTABLE repository, so the cache cannot live beside the image. The tag is a readable
# prefix and a hash of the exact repository name, so no two repositories share one (`a/b` and
# `a_b` did), and at most 117 characters of [a-z0-9._-], a valid tag.
cache_tag_of() {
  local readable
  readable=$(printf '%s' "$1" | tr -c 'a-z0-9._-' '_' | cut -c1-100)
  printf '%s-%s' "$readable" "$(printf '%s' "$1" | sha256sum | cut -c1-16)"
}
cache_ref=""
if [[ -n $cache && ${REGISTRY_CACHE:-auto} != off ]]; then
  cache_ref="$cache:$(cache_tag_of "${IMAGE_REPOSITORY_URI#*/}")"
fi

# Stops as superseded unless the uploaded object is still the newest of its key: its version in a
# versioned bucket, else its ETag (HeadObject without a version id reads the current object).
# Two halves, so that the HeadObject call (an `aws` CLI start-up, about 1 s of CPU) can run while
# the built image is labelled and named: start it only once the build has ended, finish it before
# the push. Started earlier it could miss an upload that lands during the build.
start_newest_check() {
  say "built; checking that s3://$CONTEXT_BUCKET/$CONTEXT_KEY is still the newest upload"
  aws s3api head-object --bucket "$CONTEXT_BUCKET" --key "$CONTEXT_KEY" \
    --query '[VersionId, ETag]' --output text >"$work/head-object.out" 2>"$work/head-object.err" &
  head_pid=$!
}
finish_newest_check() {
  local head current theirs ours
  if ! wait "$head_pid"; then
    stop "superseded: cannot tell whether $CONTEXT_KEY is still the newest upload" \
      "($(tr '\n' ' ' <"$work/head-object.err" | cut -c1-300)); this build did not push"
  fi
  head=$(<"$work/head-object.out")
  read -r current theirs <<<"$head"
  theirs=${theirs//\"/}
  if [[ -n ${CONTEXT_VERSION_ID:-} ]]; then
    ours=$CONTEXT_VERSION_ID
  elif [[ -n ${CONTEXT_ETAG:-} ]]; then
    ours=${CONTEXT_ETAG//\"/} current=$theirs
  else
    return 0
  fi
  if [[ $current != "$ours" ]]; then
    stop "superseded: a newer upload of $CONTEXT_KEY exists (version $current); this build of version $ours did not push"
  fi
  say "s3://$CONTEXT_BUCKET/$CONTEXT_KEY is still the newest upload (version $ours)"
}
check_not_superseded() {
  start_newest_check
  finish_newest_check
}

# Runs a push; a tag the registry refuses to overwrite ends in one TagAlreadyExists line.
push() {
  local status=0
  "$@" 2>&1 | tee "$work/push.log" || status=$?
  ((status == 0)) && return 0
  # ECR: "tag invalid: The image tag 'v1' already exists in the 'x' repository and cannot be
  # overwritten because the repository is immutable" (the local registry front answers alike).
  if grep -qiE "tag invalid|ImageTagAlreadyExists|TAG_INVALID" "$work/push.log" &&
    grep -qi "already exists" "$work/push.log"; then
    stop "TagAlreadyExists: ${IMAGE_REPOSITORY_URI#*/}:$IMAGE_TAG already exists and tags in this" \
      "repository are immutable; this build did not overwrite it (upload under a new tag)"
  fi
  fail "pushing $image failed (see above)"
}

# Runs a build. A pull from this account's ECR registry that IAM denies (a FROM outside the
# repositories the build role may read) ends in one line that names the parameter allowing it;
# any other failure keeps the builder's own output as the reason.
build_image() {
  local status=0 denied
  "$@" 2>&1 | tee "$work/build.log" || status=$?
  ((status == 0)) && return 0
  denied=$(grep -iE "denied|unauthorized|not authorized|403 Forbidden" "$work/build.log" |
    grep -oE "[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[^ :@\"']+" | head -n 1 || true)
  if [[ -n $denied ]]; then
    stop "pulling $denied from this account's ECR registry was denied: the build may pull only this" \
      "stack's repositories, adopted ones (adoptRepositoryPattern) and the build cache; allow private" \
      "base images with the basePullPattern parameter"
  fi
  exit "$status"
}

digest_file="$work/digest"
rm -f "$digest_file"
case $builder in
  docker)
    # Helper images run privileged: only ones pinned by digest (mirror them, see the README).
    for helper in "BUILDKIT_IMAGE=$buildkit_image" "BINFMT_IMAGE=$binfmt_image"; do
      [[ ${helper#*=} =~ @sha256:[0-9a-f]{64}$ ]] ||
        stop "unpinned helper: ${helper%%=*} must name an image by digest (name:tag@sha256:...), got \"${helper#*=}\""
    done
    # A BuildKit container: the default docker driver exports no registry cache, builds one
    # platform, and its metadata digest is not always the pushed manifest's.
    docker buildx inspect ecr-pipeline >/dev/null 2>&1 ||
      docker buildx create --name ecr-pipeline --driver docker-container --driver-opt "image=$buildkit_image" >/dev/null
    args+=(--builder ecr-pipeline)
    if [[ -n $BUILD_PLATFORMS ]]; then
      host="linux/$(uname -m | sed 's/x86_64/amd64/; s/aarch64/arm64/')"
      if [[ $BUILD_PLATFORMS != "$host" ]]; then
        # RUN steps of a foreign platform need QEMU emulators registered in the kernel.
        docker run --privileged --rm "$binfmt_image" --install all >/dev/null
      fi
    fi
    if [[ -n $cache_ref ]]; then args+=(--cache-from "type=registry,ref=$cache_ref"); fi
    # Build first (the result stays in the builder), check, then push: the same build again is
    # all cache hits and only pushes (and exports the registry cache).
    build_image docker buildx build "${args[@]}" "${labels[@]}" --provenance=false "$context"
    check_not_superseded
    if [[ -n $cache_ref ]]; then
      args+=(--cache-to "type=registry,ref=$cache_ref,mode=max,image-manifest=true,oci-mediatypes=true")
    fi
    push docker buildx build "${args[@]}" "${labels[@]}" --provenance=false --metadata-file "$work/metadata.json" \
      --tag "$image" --push "$context"
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("containerimage.digest", ""))' \
      "$work/metadata.json" >"$digest_file"
    ;;
  podman | buildah)
    if [[ $builder == podman ]]; then tool=("${podman[@]}"); else tool=("${buildah[@]}"); fi
    build=("${tool[@]}" build --isolation=chroot --layers "${tls[@]}")
    if [[ -n $cache_ref && ${REGISTRY_CACHE:-auto} == on ]]; then build+=(--cache-from "$cache" --cache-to "$cache"); fi
    if [[ -n $BUILD_PLATFORMS ]]; then
      # One image per platform gathered in a manifest list, pushed as a whole. Without the layer
      # cache: buildah reuses a cached final image with another build's --label values.
      local_name="localhost/ecr-pipeline-build/$safe_id"
      trap '"${tool[@]}" manifest rm "$local_name" >/dev/null 2>&1 || true' EXIT
      build_image "${build[@]}" --no-cache "${args[@]}" "${labels[@]}" \
        --manifest "$local_name" "$context"
      check_not_superseded
      push "${tool[@]}" manifest push "${tls[@]}" --all --digestfile "$digest_file" "$local_name" "docker://$image"
    else
      # Build with the layer cache and the labels. Buildah (1.28) reuses a cached final image with
      # the labels of the build that made it: then label in a step of its own, whose LABEL
      # instruction holds the build id and so never hits the cache.
      build_image "${build[@]}" "${args[@]}" "${labels[@]}" \
        --iidfile "$work/image-id" "$context"
      start_newest_check
      if [[ $builder == podman ]]; then format='{{index .Labels "ecr-pipeline.build-id"}}'
      else format='{{index .OCIv1.Config.Labels "ecr-pipeline.build-id"}}'; fi
      built_by=$("${tool[@]}" inspect --type image --format "$format" "$(cat "$work/image-id")" 2>/dev/null || true)
      if [[ $built_by == "$build_id" ]]; then
        from=$(cat "$work/image-id")
      else
        say "the layer cache gave another build's image: labelling it for this build"
        mkdir -p "$work/label-context"
        printf 'FROM %s\nLABEL ecr-pipeline.build-id="%s"\n' "$(cat "$work/image-id")" "$safe_id" \
          >"$work/label-context/Dockerfile"
        "${build[@]}" --pull=never "${labels[@]}" \
          --iidfile "$work/image-id" "$work/label-context"
        from=$(cat "$work/image-id")
      fi
      # A name of this build's own: concurrent builds of the same tag share the image store.
      local_name="localhost/ecr-pipeline-build/$safe_id:latest"
      # Keep the layers (the next build's cache), drop the name, pushed or not.
      trap '"${tool[@]}" untag "$local_name" >/dev/null 2>&1 || true' EXIT
      "${tool[@]}" tag "$from" "$local_name"
      finish_newest_check
      push "${tool[@]}" push "${tls[@]}" --digestfile "$digest_file" "$local_name" "docker://$image"
    fi
    ;;
  *) fail "unknown BUILDER \"$builder\": use docker, podman or buildah" ;;
esac

remove_build_secrets
digest=$(tr -d '[:space:]' 2>/dev/null <"$digest_file" || true)
[[ $digest == sha256:* ]] || fail "the builder reported no digest for $image"
printf '%s' "$digest" >"$digest_file"
say "pushed $image@$digest"
