# The SBOM generator of CodeBuild builds: trivy, pinned by version and by the sha256 of its release
# archive for each machine (trivy_<version>_Linux-64bit.tar.gz and _Linux-ARM64.tar.gz, as listed in
# the release's trivy_<version>_checksums.txt). This file is the one place they are written:
# build-image.sh sources it from beside itself (the buildspec writes both there), and a unit test
# holds the docs to it. Upgrading means changing the three together.
trivy_version=0.69.3
trivy_sha256_x86_64=1816b632dfe529869c740c0913e36bd1629cb7688bd5634f4a858c1d57c88b75
trivy_sha256_aarch64=7e3924a974e912e57b4a99f65ece7931f8079584dae12eb7845024f97087bdfd
