"""`python -m ops web-deploy | web-rollback --stage S`: ship the static pages, and take them back.

Layout of the site bucket (CloudFront serves it; see docs/softphone.md):

    releases/<release>/...        every file of one release, immutable, cached for a year
    releases/history.json         the releases in deploy order, and which one is live
    index.html, board/index.html  the live release's entry points, `no-cache`

`<release>` is `<client version>-<hash of the release's files>`, so a release is never
overwritten with different bytes: redeploying identical files is a no-op upload, and rolling
back is only a matter of rewriting the entry points. An entry point is the release's own HTML
with `<base href="/releases/<release>/...">` added, so every relative URL it loads (scripts,
styles, ES module imports, `config.js`) comes from that release's immutable prefix. The stage's
`config.js` is written into the release, so a rollback restores the configuration too.

Switching: entry points are uploaded last (a page never references a release that is not fully
uploaded), then CloudFront's cached copies of the entry points are invalidated. The entry
points carry `Cache-Control: no-cache`, so browsers revalidate them on every load; together
that is "effective within a minute".
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from botocore.exceptions import ClientError

from ops.web_config import WEB_DIR, WebConfig, client_version, parse_crm_origins

RELEASES_PREFIX = "releases/"
HISTORY_KEY = "releases/history.json"
CONFIG_NAME = "config.js"
IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache, max-age=0"
# Not part of the site: build inputs, dependencies (the SDK is vendored under web/vendor), tools.
EXCLUDED_TOP = frozenset({"node_modules", "scripts", "package.json", "package-lock.json"})
EXCLUDED_SUFFIXES = (".partial", ".map", ".md")
_HEAD = re.compile(r"<head(\s[^>]*)?>", re.IGNORECASE)


class DeployError(RuntimeError):
    """The deploy or rollback cannot go ahead; nothing live was changed."""


@dataclass(frozen=True)
class SiteFile:
    path: str  # relative, POSIX
    body: bytes

    @property
    def content_type(self) -> str:
        if self.path.endswith((".js", ".mjs")):
            return "text/javascript; charset=utf-8"
        guessed = mimetypes.guess_type(self.path)[0] or "application/octet-stream"
        return f"{guessed}; charset=utf-8" if guessed.startswith("text/") else guessed

    @property
    def is_entry_point(self) -> bool:
        return self.path.endswith(".html")


def site_files(web_dir: Path, config: WebConfig) -> list[SiteFile]:
    """The release's files: web/ minus what is not served, plus this stage's config.js; each
    page carries the stage's Content-Security-Policy (S3 cannot send it as a header; the
    release keeps it, so a rollback restores the policy with the config)."""
    from ops.web_csp import content_security_policy, with_meta_policy

    policy = content_security_policy(config, meta=True)
    files: list[SiteFile] = []
    for path in sorted(web_dir.rglob("*")):
        relative = path.relative_to(web_dir).as_posix()
        if (
            not path.is_file()
            or relative.split("/")[0] in EXCLUDED_TOP
            or relative == CONFIG_NAME
            or relative.endswith(EXCLUDED_SUFFIXES)
            or any(part.startswith(".") for part in relative.split("/"))
        ):
            continue
        body = path.read_bytes()
        if relative.endswith(".html"):
            body = with_meta_policy(body.decode("utf-8"), policy).encode("utf-8")
        files.append(SiteFile(relative, body))
    files.append(SiteFile(CONFIG_NAME, config.script().encode("utf-8")))
    return files


def release_id(version: str, files: Iterable[SiteFile]) -> str:
    digest = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.path):
        digest.update(f.path.encode() + b"\0" + hashlib.sha256(f.body).digest())
    return f"{version}-{digest.hexdigest()[:12]}"


def entry_point(html: bytes, release: str, path: str) -> bytes:
    """The release's HTML page, made to load everything relative from the release's prefix."""
    folder = PurePosixPath(path).parent.as_posix()
    base = f"/{RELEASES_PREFIX}{release}/" + ("" if folder == "." else folder + "/")
    text = html.decode("utf-8")
    tag = f'<base href="{base}">'
    match = _HEAD.search(text)
    if match is None:
        raise DeployError(f"{path} has no <head>: cannot point it at release {release}")
    return (text[: match.end()] + tag + text[match.end() :]).encode("utf-8")


@dataclass
class History:
    """releases/history.json: releases in (last) deploy order, the live one, and a log."""

    releases: list[dict[str, Any]] = field(default_factory=list)
    live: str = ""
    log: list[dict[str, Any]] = field(default_factory=list)

    def ids(self) -> list[str]:
        return [r["release"] for r in self.releases]

    def find(self, release: str) -> dict[str, Any]:
        for entry in self.releases:
            if entry["release"] == release:
                return entry
        raise DeployError(f"no release {release} in {HISTORY_KEY}")

    def previous(self) -> str:
        ids = self.ids()
        if self.live not in ids or ids.index(self.live) == 0:
            raise DeployError("there is no earlier release to roll back to")
        return ids[ids.index(self.live) - 1]

    def as_json(self) -> dict[str, Any]:
        return {"live": self.live, "releases": self.releases, "log": self.log[-200:]}


class SiteBucket:
    """The S3 side of a deploy (an injected boto3 client: moto in tests)."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket

    def history(self) -> History:
        try:
            body = self._s3.get_object(Bucket=self._bucket, Key=HISTORY_KEY)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return History()
            raise
        data = json.loads(body)
        return History(data.get("releases", []), data.get("live", ""), data.get("log", []))

    def save_history(self, history: History) -> None:
        self.put(
            HISTORY_KEY,
            json.dumps(history.as_json(), indent=2).encode(),
            "application/json",
            NO_CACHE,
        )

    def exists(self, key: str) -> bool:
        try:
            self._s3.head_object(Bucket=self._bucket, Key=key)
        except ClientError:
            return False
        return True

    def get(self, key: str) -> bytes:
        body: bytes = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        return body

    def put(self, key: str, body: bytes, content_type: str, cache_control: str) -> None:
        self._s3.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=body,
            ContentType=content_type,
            CacheControl=cache_control,
        )


@dataclass(frozen=True)
class Outcome:
    release: str
    version: str
    uploaded: int
    entry_points: tuple[str, ...]
    invalidation: str | None
    previous: str


def _switch(
    site: SiteBucket, release: str, entry_points: Iterable[str], cloudfront: Any, distribution: str
) -> tuple[tuple[str, ...], str | None]:
    """Point the live entry points at `release`; invalidate CloudFront's copies of them."""
    written: list[str] = []
    for path in entry_points:
        html = site.get(f"{RELEASES_PREFIX}{release}/{path}")
        site.put(path, entry_point(html, release, path), "text/html; charset=utf-8", NO_CACHE)
        written.append(path)
    invalidation = None
    if distribution:
        paths = sorted({f"/{p}" for p in written} | {f"/{_folder(p)}" for p in written})
        answer = cloudfront.create_invalidation(
            DistributionId=distribution,
            InvalidationBatch={
                "Paths": {"Quantity": len(paths), "Items": paths},
                "CallerReference": f"{release}-{time.time_ns()}",
            },
        )
        invalidation = str(answer["Invalidation"]["Id"])
    return tuple(written), invalidation


def _folder(path: str) -> str:
    """`board/index.html` -> `board/` (and `board`, handled by the directory-index function)."""
    folder = PurePosixPath(path).parent.as_posix()
    return "" if folder == "." else folder + "/"


def deploy(
    s3: Any,
    bucket: str,
    config: WebConfig,
    *,
    cloudfront: Any = None,
    distribution: str = "",
    web_dir: Path = WEB_DIR,
    now: float | None = None,
) -> Outcome:
    version = config.client_version or client_version(web_dir)
    files = site_files(web_dir, replace(config, client_version=version))
    if not any(f.path == "index.html" for f in files):
        raise DeployError(f"{web_dir} has no index.html")
    release = release_id(version, files)
    site = SiteBucket(s3, bucket)
    history = site.history()
    uploaded = 0
    for f in _missing(site, release, files):
        cache = NO_CACHE if f.is_entry_point or f.path == CONFIG_NAME else IMMUTABLE
        site.put(f"{RELEASES_PREFIX}{release}/{f.path}", f.body, f.content_type, cache)
        uploaded += 1
    entry_points = [f.path for f in files if f.is_entry_point]
    at = int(now if now is not None else time.time())
    # A release deployed again moves to the end: "previous" always means deployed before it.
    history.releases = [r for r in history.releases if r["release"] != release]
    history.releases.append(
        {"release": release, "version": version, "deployed_at": at, "entry_points": entry_points}
    )
    previous = history.live
    written, invalidation = _switch(site, release, entry_points, cloudfront, distribution)
    history.live = release
    history.log.append({"action": "deploy", "release": release, "from": previous, "at": at})
    site.save_history(history)
    return Outcome(release, version, uploaded, written, invalidation, previous)


def _missing(site: SiteBucket, release: str, files: list[SiteFile]) -> Iterator[SiteFile]:
    """Files of the release not yet uploaded (a retried deploy resumes; releases are immutable)."""
    for f in files:
        if not site.exists(f"{RELEASES_PREFIX}{release}/{f.path}"):
            yield f


def rollback(
    s3: Any,
    bucket: str,
    *,
    cloudfront: Any = None,
    distribution: str = "",
    to: str = "",
    now: float | None = None,
) -> Outcome:
    """Make the release before the live one (or `to`) live again."""
    site = SiteBucket(s3, bucket)
    history = site.history()
    if not history.live:
        raise DeployError("nothing has been deployed to this bucket yet")
    target = to or history.previous()
    entry = history.find(target)
    previous = history.live
    written, invalidation = _switch(site, target, entry["entry_points"], cloudfront, distribution)
    history.live = target
    at = int(now if now is not None else time.time())
    history.log.append({"action": "rollback", "release": target, "from": previous, "at": at})
    site.save_history(history)
    return Outcome(target, str(entry["version"]), 0, written, invalidation, previous)


# --- the commands -------------------------------------------------------------------------


def _clients(stage: str) -> tuple[Any, Any, Any]:
    import boto3

    from ops.stage import settings_for

    settings = settings_for(stage)
    session = boto3.session.Session(region_name=settings.aws_region)
    cloudfront = session.client("cloudfront") if settings.web_distribution_id else None
    return settings, session.client("s3"), cloudfront


def stage_web_config(settings: Any) -> WebConfig:
    """The deployed pages' config.js: the stage's API and Cognito pool (and, for their CSP
    only, the recordings bucket the voicemail player plays from)."""
    from ops.web_csp import recordings_origins

    endpoint = settings.aws_endpoint_url if settings.is_local else ""
    return WebConfig(
        api_base_url=settings.public_base_url,
        cognito_region=settings.aws_region,
        cognito_user_pool_id=settings.auth.cognito_user_pool_id,
        cognito_client_id=settings.auth.cognito_client_id,
        cognito_endpoint=settings.aws_endpoint_url if settings.is_local else "",
        crm_origins=parse_crm_origins(getattr(settings, "crm_origins", "")),
        media_origins=recordings_origins(
            settings.recordings.recordings_bucket, settings.aws_region, endpoint
        ),
    )


def _report(outcome: Outcome, verb: str) -> None:
    print(f"{verb} release {outcome.release} (client version {outcome.version})")
    print(f"  previously live: {outcome.previous or '-'}")
    print(f"  files uploaded:  {outcome.uploaded}")
    print(f"  entry points:    {', '.join(outcome.entry_points)}")
    print(f"  invalidation:    {outcome.invalidation or 'none (no CloudFront distribution set)'}")


def run_deploy(stage: str) -> int:
    settings, s3, cloudfront = _clients(stage)
    try:
        outcome = deploy(
            s3,
            settings.web_site_bucket,
            stage_web_config(settings),
            cloudfront=cloudfront,
            distribution=settings.web_distribution_id,
        )
    except DeployError as exc:
        print(f"web-deploy: {exc}")
        return 2
    _report(outcome, "deployed")
    from chalicelib.platform.versions import parse_version

    if parse_version(outcome.version) > parse_version(settings.softphone.latest_client_version):
        print(
            "note: the API still advertises LATEST_CLIENT_VERSION="
            f"{settings.softphone.latest_client_version}; set it to {outcome.version} so open "
            "pages offer the reload."
        )
    return 0


def run_rollback(stage: str, to: str = "") -> int:
    settings, s3, cloudfront = _clients(stage)
    try:
        outcome = rollback(
            s3,
            settings.web_site_bucket,
            cloudfront=cloudfront,
            distribution=settings.web_distribution_id,
            to=to,
        )
    except DeployError as exc:
        print(f"web-rollback: {exc}")
        return 2
    _report(outcome, "rolled back to")
    from chalicelib.platform.versions import parse_version

    if parse_version(outcome.version) < parse_version(settings.softphone.min_client_version):
        print(
            f"warning: {outcome.version} is below the API's MIN_CLIENT_VERSION "
            f"({settings.softphone.min_client_version}): pages will be refused until it is lowered."
        )
    return 0
