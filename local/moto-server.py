"""moto_server, with one fix of moto's ECR: PutImage without imageTag (an image pushed by digest).

moto 5.2.1 checks the tag of every PutImage against the repository's tag-mutability exclusion
filters with re.match(filter, tag): with no tag, that raises TypeError and moto answers 500. ECR
records such an image untagged; so does moto once the check is skipped for "no tag". Everything
else is moto's own server and models. Without that method (another moto version), nothing is
changed.
"""

import sys

from moto.ecr import models
from moto.server import main

_resolve = getattr(models.ECRBackend, "_resolve_image_tag_mutability", None)

if _resolve is not None:

    def _resolve_untagged(self, repository, proposed_image_tag):
        # No tag: nothing to check against the exclusions, and no image holds "no tag".
        if proposed_image_tag is None:
            return []
        return _resolve(self, repository, proposed_image_tag)

    models.ECRBackend._resolve_image_tag_mutability = _resolve_untagged

if __name__ == "__main__":
    main(sys.argv[1:])
