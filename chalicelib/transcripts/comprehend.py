"""Amazon Comprehend, behind one method: the sentiment of a batch of utterances.

BatchDetectSentiment takes up to 25 documents, each under 5,000 bytes of UTF-8, in one
language, and answers per document: `ResultList` (Index, Sentiment, SentimentScore with
Positive/Negative/Neutral/Mixed) and `ErrorList` (Index, ErrorCode, ErrorMessage) for the
documents it could not score
(https://docs.aws.amazon.com/comprehend/latest/APIReference/API_BatchDetectSentiment.html).
Japanese (`ja`) is one of the languages sentiment analysis supports
(https://docs.aws.amazon.com/comprehend/latest/dg/supported-languages.html). moto has no
BatchDetectSentiment: tests and the rehearsal use ops/standin/comprehend.py at this client's
boundary.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.platform.errors import StorageUnavailable


class SentimentUnavailable(StorageUnavailable):
    """Comprehend could not be reached or refused the batch: the stream retries it."""


class ComprehendSentiment:
    def __init__(self, client: Any) -> None:
        self._client = client

    def batch_detect(
        self, texts: Sequence[str], language: str
    ) -> list[tuple[str, dict[str, float]] | None]:
        """Per text, (sentiment, scores) or None where Comprehend reported an error for it."""
        if not texts:
            return []
        try:
            response = self._client.batch_detect_sentiment(
                TextList=list(texts), LanguageCode=language
            )
        except (ClientError, BotoCoreError) as exc:
            raise SentimentUnavailable(f"comprehend batch sentiment failed: {exc}") from exc
        results: list[tuple[str, dict[str, float]] | None] = [None] * len(texts)
        for result in response.get("ResultList", []):
            scores = {k: float(v) for k, v in (result.get("SentimentScore") or {}).items()}
            results[int(result["Index"])] = (str(result["Sentiment"]), scores)
        return results
