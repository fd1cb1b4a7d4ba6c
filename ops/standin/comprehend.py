"""Amazon Comprehend's BatchDetectSentiment, played at the boto3 client's boundary.

moto 5 serves DetectSentiment with one canned NEUTRAL answer and has no BatchDetectSentiment:
`play_batch_detect_sentiment` adds it to moto's Comprehend (tests under `mock_aws`, the local
stack's moto server), so the app's own boto3 client and IAM grants are exercised. It is as
strict as the service on what the app relies on
(https://docs.aws.amazon.com/comprehend/latest/APIReference/API_BatchDetectSentiment.html):
at most 25 documents (BatchSizeLimitExceededException), each at most 5,000 bytes of UTF-8
(TextSizeLimitExceededException), a language sentiment supports
(https://docs.aws.amazon.com/comprehend/latest/dg/supported-languages.html, else
UnsupportedLanguageException); results carry their document's Index, and an empty document is
reported in ErrorList rather than failing the batch. The sentiment is not a model: a few
Japanese words decide it, so a rehearsal knows which calls must turn negative.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

SENTIMENT_LANGUAGES = frozenset(
    {"en", "es", "fr", "de", "it", "pt", "ar", "hi", "ja", "ko", "zh", "zh-TW"}
)
MAX_DOCUMENTS = 25
MAX_DOCUMENT_BYTES = 5000
NEGATIVE_WORDS = ("解約", "クレーム", "上の者", "不満", "ひどい", "最悪", "怒")
POSITIVE_WORDS = ("ありがとう", "助かり", "嬉しい", "満足")


def _error(code: str, message: str) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}},
        "BatchDetectSentiment",
    )


def sentiment_of(text: str) -> tuple[str, dict[str, float]]:
    negative = sum(text.count(w) for w in NEGATIVE_WORDS)
    positive = sum(text.count(w) for w in POSITIVE_WORDS)
    if negative and positive:
        return "MIXED", {"Positive": 0.3, "Negative": 0.3, "Neutral": 0.1, "Mixed": 0.3}
    if negative:
        return "NEGATIVE", {"Positive": 0.02, "Negative": 0.9, "Neutral": 0.07, "Mixed": 0.01}
    if positive:
        return "POSITIVE", {"Positive": 0.9, "Negative": 0.02, "Neutral": 0.07, "Mixed": 0.01}
    return "NEUTRAL", {"Positive": 0.05, "Negative": 0.05, "Neutral": 0.89, "Mixed": 0.01}


@dataclass
class FakeComprehend:
    """A boto3 `comprehend` client's batch_detect_sentiment; `batches` records each call."""

    batches: list[list[str]] = field(default_factory=list)
    # Refuse this many calls with ThrottlingException first (a rehearsal of an outage).
    throttle_next: int = 0

    def batch_detect_sentiment(self, TextList: list[str], LanguageCode: str) -> dict[str, Any]:
        if self.throttle_next > 0:
            self.throttle_next -= 1
            raise _error("ThrottlingException", "rate exceeded")
        if LanguageCode not in SENTIMENT_LANGUAGES:
            raise _error("UnsupportedLanguageException", f"{LanguageCode} is not supported")
        if len(TextList) > MAX_DOCUMENTS:
            raise _error("BatchSizeLimitExceededException", "more than 25 documents")
        for text in TextList:
            if len(text.encode("utf-8")) > MAX_DOCUMENT_BYTES:
                raise _error("TextSizeLimitExceededException", "a document is over 5000 bytes")
        self.batches.append(list(TextList))
        results, errors = [], []
        for index, text in enumerate(TextList):
            if not text.strip():
                error = {"ErrorCode": "InvalidRequestException", "ErrorMessage": "empty"}
                errors.append({"Index": index, **error})
                continue
            sentiment, scores = sentiment_of(text)
            results.append({"Index": index, "Sentiment": sentiment, "SentimentScore": scores})
        return {"ResultList": results, "ErrorList": errors}


# The FakeComprehend moto's Comprehend answers with (see play_batch_detect_sentiment).
_PLAYING: list[FakeComprehend] = []


def play_batch_detect_sentiment(fake: FakeComprehend | None = None) -> FakeComprehend:
    """Teach moto's Comprehend (in-process `mock_aws` and the local stack's server) the
    BatchDetectSentiment above, so the app's real boto3 client reaches it unchanged; refusals
    come back as Comprehend's JSON errors (`__type`, 400). Returns the fake now answering: a
    test passes its own to read `batches`; without one (the all-day server) nothing is kept."""
    import json

    from moto.comprehend.responses import ComprehendResponse
    from moto.core.exceptions import JsonRESTError

    keep = fake is not None
    _PLAYING[:] = [fake or FakeComprehend()]

    def batch_detect_sentiment(self: ComprehendResponse) -> str:
        params = json.loads(self.body)
        playing = _PLAYING[0]
        try:
            answer = playing.batch_detect_sentiment(
                TextList=list(params.get("TextList") or []),
                LanguageCode=str(params.get("LanguageCode") or ""),
            )
        except ClientError as exc:
            error = exc.response["Error"]
            raise JsonRESTError(error["Code"], error["Message"]) from exc
        if not keep:
            playing.batches.clear()
        return json.dumps(answer)

    ComprehendResponse.batch_detect_sentiment = batch_detect_sentiment  # type: ignore[attr-defined]
    return _PLAYING[0]
