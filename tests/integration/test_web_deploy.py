"""`ops web-deploy` / `web-rollback` against moto's S3 and CloudFront."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ops.web_config import WebConfig
from ops.web_deploy import HISTORY_KEY, DeployError, deploy, rollback

BUCKET = "test-web-site"


def write_site(root: Path, version: str, marker: str) -> Path:
    (root / "app").mkdir(parents=True, exist_ok=True)
    (root / "board").mkdir(exist_ok=True)
    (root / "node_modules" / "x").mkdir(parents=True, exist_ok=True)
    (root / "package.json").write_text(json.dumps({"version": version}))
    (root / "index.html").write_text(
        '<!doctype html><html><head><meta charset="utf-8"><script src="config.js"></script>'
        f'<script type="module" src="app/main.js"></script></head><body>{marker}</body></html>'
    )
    (root / "board" / "index.html").write_text("<html><head></head><body>board</body></html>")
    (root / "app" / "main.js").write_text(f"console.log({marker!r});\n")
    (root / "app" / "softphone.css").write_text("body { margin: 0 }\n")
    (root / "node_modules" / "x" / "index.js").write_text("junk")
    (root / "config.js").write_text("// the local stack's, never shipped\n")
    return root


def stage_config() -> WebConfig:
    return WebConfig(
        api_base_url="https://api.example.test/api",
        cognito_region="ap-northeast-1",
        cognito_user_pool_id="ap-northeast-1_pool",
        cognito_client_id="client123",
    )


@pytest.fixture
def s3(aws: Any) -> Any:
    client = aws.client("s3")
    client.create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"}
    )
    return client


@pytest.fixture
def cloudfront(aws: Any) -> tuple[Any, str]:
    client = aws.client("cloudfront", region_name="us-east-1")
    answer = client.create_distribution(
        DistributionConfig={
            "CallerReference": "test",
            "Comment": "site",
            "Enabled": True,
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "site",
                        "DomainName": f"{BUCKET}.s3.ap-northeast-1.amazonaws.com",
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
                    }
                ],
            },
            "DefaultCacheBehavior": {
                "TargetOriginId": "site",
                "ViewerProtocolPolicy": "redirect-to-https",
                "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
            },
        }
    )
    return client, answer["Distribution"]["Id"]


def get(s3: Any, key: str) -> tuple[str, dict[str, Any]]:
    obj = s3.get_object(Bucket=BUCKET, Key=key)
    return obj["Body"].read().decode(), obj


def keys(s3: Any) -> set[str]:
    return {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])}


def test_deploy_uploads_a_versioned_release_and_points_the_entry_points_at_it(
    s3: Any, cloudfront: tuple[Any, str], tmp_path: Path
) -> None:
    web = write_site(tmp_path / "web", "1.2.0", "one")
    cf, distribution = cloudfront
    outcome = deploy(
        s3, BUCKET, stage_config(), cloudfront=cf, distribution=distribution, web_dir=web
    )
    release = outcome.release
    assert release.startswith("1.2.0-")
    prefix = f"releases/{release}/"
    assert keys(s3) == {
        prefix + "index.html",
        prefix + "board/index.html",
        prefix + "app/main.js",
        prefix + "app/softphone.css",
        prefix + "config.js",
        "index.html",
        "board/index.html",
        HISTORY_KEY,
    }
    _, asset = get(s3, prefix + "app/main.js")
    assert asset["CacheControl"] == "public, max-age=31536000, immutable"
    assert asset["ContentType"].startswith("text/javascript")
    config, config_obj = get(s3, prefix + "config.js")
    assert '"apiBaseUrl": "https://api.example.test/api"' in config
    assert '"clientVersion": "1.2.0"' in config
    assert config_obj["CacheControl"].startswith("no-cache")
    root, root_obj = get(s3, "index.html")
    assert root_obj["CacheControl"].startswith("no-cache")
    assert f'<head><base href="/releases/{release}/">' in root
    assert "one" in root
    board, _ = get(s3, "board/index.html")
    assert f'<base href="/releases/{release}/board/">' in board
    invalidation = cf.get_invalidation(DistributionId=distribution, Id=outcome.invalidation)
    paths = invalidation["Invalidation"]["InvalidationBatch"]["Paths"]["Items"]
    assert set(paths) == {"/", "/index.html", "/board/", "/board/index.html"}


def test_rollback_switches_back_to_the_previous_release_and_keeps_a_history(
    s3: Any, cloudfront: tuple[Any, str], tmp_path: Path
) -> None:
    cf, distribution = cloudfront
    first = deploy(
        s3,
        BUCKET,
        stage_config(),
        cloudfront=cf,
        distribution=distribution,
        web_dir=write_site(tmp_path / "v1", "1.2.0", "one"),
        now=1000,
    )
    second = deploy(
        s3,
        BUCKET,
        stage_config(),
        cloudfront=cf,
        distribution=distribution,
        web_dir=write_site(tmp_path / "v2", "1.3.0", "two"),
        now=2000,
    )
    assert "two" in get(s3, "index.html")[0]
    back = rollback(s3, BUCKET, cloudfront=cf, distribution=distribution, now=3000)
    assert back.release == first.release
    assert back.previous == second.release
    root = get(s3, "index.html")[0]
    assert "one" in root and f"/releases/{first.release}/" in root
    assert back.invalidation is not None
    # The newer release stays in the bucket: rolling forward is one more command.
    assert f"releases/{second.release}/app/main.js" in keys(s3)
    history = json.loads(get(s3, HISTORY_KEY)[0])
    assert history["live"] == first.release
    assert [r["release"] for r in history["releases"]] == [first.release, second.release]
    assert [(e["action"], e["release"], e["at"]) for e in history["log"]] == [
        ("deploy", first.release, 1000),
        ("deploy", second.release, 2000),
        ("rollback", first.release, 3000),
    ]
    forward = rollback(s3, BUCKET, to=second.release)
    assert forward.release == second.release
    assert "two" in get(s3, "index.html")[0]


def test_redeploying_identical_files_uploads_nothing_new(s3: Any, tmp_path: Path) -> None:
    web = write_site(tmp_path / "web", "1.2.0", "one")
    first = deploy(s3, BUCKET, stage_config(), web_dir=web)
    again = deploy(s3, BUCKET, stage_config(), web_dir=web)
    assert again.release == first.release
    assert again.uploaded == 0
    assert again.invalidation is None


def test_changed_files_under_the_same_version_are_a_new_release(s3: Any, tmp_path: Path) -> None:
    first = deploy(s3, BUCKET, stage_config(), web_dir=write_site(tmp_path / "a", "1.2.0", "a"))
    second = deploy(s3, BUCKET, stage_config(), web_dir=write_site(tmp_path / "b", "1.2.0", "b"))
    assert first.release != second.release


def test_rollback_with_nothing_earlier_changes_nothing(s3: Any, tmp_path: Path) -> None:
    with pytest.raises(DeployError):
        rollback(s3, BUCKET)
    deploy(s3, BUCKET, stage_config(), web_dir=write_site(tmp_path / "web", "1.2.0", "one"))
    before = get(s3, "index.html")[0]
    with pytest.raises(DeployError):
        rollback(s3, BUCKET)
    assert get(s3, "index.html")[0] == before


def test_the_real_web_directory_deploys(s3: Any) -> None:
    from ops.web_config import WEB_DIR

    if not (WEB_DIR / "index.html").exists():
        pytest.skip("web/ not built yet")
    outcome = deploy(s3, BUCKET, stage_config())
    assert "index.html" in outcome.entry_points
    assert not any(k.startswith(f"releases/{outcome.release}/node_modules") for k in keys(s3))
