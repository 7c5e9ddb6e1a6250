"""Reading the requests a frontend served from its ``/metrics`` page (pure)."""

from __future__ import annotations

from bot.cluster.frontend import REQUESTS_TOTAL, requests_in_metrics

MODEL = "Qwen/Qwen3-0.6B"


def _series(model: str, endpoint: str, request_type: str, status: str, value: int) -> str:
    error_type = "" if status == "success" else "validation"
    labels = (
        f'endpoint="{endpoint}",error_type="{error_type}",model="{model}",'
        f'request_type="{request_type}",status="{status}"'
    )
    return f"{REQUESTS_TOTAL}{{{labels}}} {value}"


# Shaped as Dynamo's HTTP service writes its counter (the Rust prometheus crate's text
# encoder; labels of ``lib/llm/src/http/service/metrics.rs`` in ai-dynamo/dynamo, newer
# releases adding ``error_type``), next to another family of the same page.
PAGE = "\n".join(
    [
        f"# HELP {REQUESTS_TOTAL} Total number of LLM requests processed",
        f"# TYPE {REQUESTS_TOTAL} counter",
        _series(MODEL, "chat_completions", "stream", "success", 40),
        _series(MODEL, "completions", "unary", "success", 2),
        _series(MODEL, "chat_completions", "unary", "error", 5),
        _series("other/model", "chat_completions", "stream", "success", 7),
        "# HELP dynamo_frontend_inflight_requests Number of inflight requests",
        "# TYPE dynamo_frontend_inflight_requests gauge",
        f'dynamo_frontend_inflight_requests{{model="{MODEL}"}} 1',
        "",
    ]
)


def test_the_successful_requests_of_the_model_are_summed_over_endpoints_and_types() -> None:
    assert requests_in_metrics(PAGE, MODEL) == 42
    assert requests_in_metrics(PAGE, "other/model") == 7


def test_a_model_without_a_series_yet_has_served_none() -> None:
    assert requests_in_metrics(PAGE, "never/asked") == 0


def test_a_page_without_the_counter_is_not_known() -> None:
    # An empty page, or another metrics prefix (DYN_METRICS_PREFIX): no figure, not "0".
    assert requests_in_metrics("", MODEL) is None
    other = PAGE.replace("dynamo_frontend_requests", "acme_frontend_requests")
    assert requests_in_metrics(other, MODEL) is None


def test_a_page_that_is_not_prometheus_text_is_not_known() -> None:
    assert requests_in_metrics("<html><body>Not Found</body></html>", MODEL) is None
    assert requests_in_metrics('{"message": "Model not found"}', MODEL) is None
