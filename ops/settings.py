"""The operator tools' settings: the Lambda's own, plus what only the tools read.

The static site's bucket and CloudFront distribution are read by `ops web-deploy` and checked
by `ops doctor`, never by a function, so they are not in the Lambda's `Settings`: a function
must not refuse to start for want of a setting it never reads.
"""

from __future__ import annotations

from chalicelib.platform.settings import Settings


class OperatorSettings(Settings):
    # The static site: its S3 bucket, and the CloudFront distribution in front (empty: none, as
    # on the local stack, so `ops web-deploy` skips the invalidation).
    web_site_bucket: str = ""
    web_distribution_id: str = ""
    # CRM pages allowed to ask the softphone to dial by postMessage, comma-separated origins
    # (ops/web_config.py parse_crm_origins; written into the stage's config.js).
    crm_origins: str = ""
