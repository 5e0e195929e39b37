"""docs/openapi.yaml against a running stack (tests/stack/stack): the spec lints clean
(openapi-spec-validator), and real answers of the limiter and the gateway, for every operation of
the spec, validate against it (openapi-core, from PyPI; scripts/setup installs both into
.cache/venv).
    .cache/venv/bin/python tests/stack/openapi_test.py <stack.env>"""
import os
import subprocess
import sys
import time
import unittest
import urllib.parse

import yaml
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

sys.path.insert(0, os.path.dirname(__file__))
import stack_env  # noqa: E402

STACK = stack_env.load(sys.argv[1])
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SPEC_PATH = os.path.join(REPO, "docs", "openapi.yaml")
SPEC = OpenAPI.from_file_path(SPEC_PATH)
with open(SPEC_PATH) as f:
    SPEC_DOC = yaml.safe_load(f)
LIMITER, GATEWAY = STACK["LIMITER_URL"], STACK["GATEWAY_URL"]
RUN = f"{os.getpid()}-{int(time.time())}"
covered = set()  # (method, path template) validated


def spec_operations():
    ops = set()
    for template, item in SPEC_DOC["paths"].items():
        for method in ("get", "post", "delete", "put", "patch"):
            if method in item:
                ops.add((method, template))
    return ops


class OpenApiTest(unittest.TestCase):
    def answer(self, base, method, path, template, body=None, headers=None, raw=None,
               content_type="application/json", expect=None):
        """Sends a real request, validates the answer against the spec, returns (status, body)."""
        parsed = urllib.parse.urlsplit(path)
        data = raw if raw is not None else (None if body is None else
                                            __import__("json").dumps(body).encode())
        send_headers = dict(headers or {})
        if data is not None:
            send_headers["Content-Type"] = content_type
        status, res_headers, res_body = stack_env.request(method, base + path, data,
                                                          headers=send_headers)
        if expect is not None:
            self.assertEqual(status, expect, (method, path, res_body[:300]))
        request = MockRequest(base, method.lower(), parsed.path,
                              args=dict(urllib.parse.parse_qsl(parsed.query)),
                              headers=send_headers, data=data,
                              content_type=content_type)
        content_type_out = res_headers.get("Content-Type", "")
        response = MockResponse(res_body.decode() if content_type_out.startswith("text/") else
                                res_body, status_code=status, headers=res_headers,
                                content_type=content_type_out)
        try:
            SPEC.validate_response(request, response)
        except Exception as e:  # noqa: BLE001 - the validator's own error says what is wrong
            self.fail(f"{method} {path} -> {status}: {str(e)[:1500]} "
                      f"{[str(c)[:500] for c in getattr(e, 'schema_errors', [])]}\n"
                      f"{res_body[:300]!r}")
        covered.add((method.lower(), template))
        return status, res_body

    def test_1_the_spec_lints_clean(self):
        p = subprocess.run([os.path.join(os.path.dirname(sys.executable),
                                         "openapi-spec-validator"), SPEC_PATH],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(SPEC_DOC["openapi"], "3.1.0")

    def test_2_limiter_answers(self):
        user = f"oa-lim-{RUN}"
        a = lambda *args, **kw: self.answer(LIMITER, *args, **kw)  # noqa: E731
        for i in range(4):
            a("POST", "/check", "/check", {"user_id": user, "action": "login"},
              headers={"X-Request-Id": f"oa-{i}"}, expect=200 if i < 3 else 429)
        a("POST", "/check", "/check", {"user_id": user, "cost": "x"}, expect=400)
        a("POST", "/check", "/check", raw=b"{", expect=400)
        a("POST", "/check", "/check", raw=b"user_id=u", content_type="text/plain", expect=415)
        a("POST", "/check", "/check", raw=b'{"user_id":"' + b"x" * 8000 + b'"}', expect=413)
        a("POST", "/check/batch", "/check/batch",
          {"checks": [{"user_id": user + "-b"}, {"user_id": ""}, {"user_id": user, "action": "login"}]},
          expect=200)
        a("POST", "/check/batch", "/check/batch", {"checks": "no"}, expect=400)
        desc = {"domain": "edge", "descriptors": [{"entries": [{"key": "path", "value": "/x" + RUN}]}]}
        a("POST", "/json", "/json", desc, expect=200)
        over = {"domain": "edge", "descriptors": [{"entries": [{"key": "remote_address",
                                                                "value": "oa-" + RUN}]}],
                "hitsAddend": 61}
        a("POST", "/json", "/json", over, expect=429)
        a("POST", "/json", "/json", {"domain": ""}, expect=400)
        a("GET", "/config", "/config", expect=200)
        a("GET", f"/limits/{user}?action=login", "/limits/{user}", expect=401)
        token = {"Authorization": "Bearer " + STACK["ADMIN_TOKEN"]}
        a("GET", f"/limits/{user}?action=login", "/limits/{user}", headers=token, expect=200)
        a("DELETE", f"/limits/{user}?action=login", "/limits/{user}", headers=token, expect=200)
        a("GET", "/health", "/health", expect=200)
        a("GET", "/ready", "/ready", expect=200)
        a("GET", "/live", "/live", expect=200)
        a("GET", "/metrics", "/metrics", expect=200)

    def test_3_gateway_answers(self):
        user = f"oa-gw-{RUN}"
        g = lambda *args, **kw: self.answer(GATEWAY, *args, **kw)  # noqa: E731
        for i in range(4):
            g("POST", "/check", "/check", {"user_id": user, "action": "login"},
              expect=200 if i < 3 else 429)
        g("POST", "/check", "/check", {"user_id": 7}, expect=400)
        g("POST", "/check/batch", "/check/batch", {"checks": [{"user_id": user}]}, expect=200)
        for i in range(6):
            g("POST", "/api", "/api", {"user_id": user + "-api"}, expect=200 if i < 5 else 429)
        g("POST", "/api", "/api", raw=b"x" * 5000, expect=413)
        g("POST", "/api", "/api", {"user_id": ""}, expect=400)
        nginx = {"X-Original-Method": "GET", "X-Original-URI": "/page?x=1", "X-User-Id": user + "-px"}
        g("GET", "/proxy/check", "/proxy/check", headers=nginx, expect=200)
        g("GET", "/proxy/check", "/proxy/check", headers={"X-User-Id": user}, expect=400)
        g("GET", "/proxy/check?refused_status=500", "/proxy/check", headers=nginx, expect=400)
        self.assertTrue(stack_env.eventually(
            lambda: stack_env.get_json(GATEWAY + "/analytics/" + user)[1]["total"] >= 4))
        g("GET", "/analytics", "/analytics", expect=200)
        g("GET", "/analytics/top?by=blocked&limit=5", "/analytics/top", expect=200)
        g("GET", "/analytics/top?by=rule", "/analytics/top", expect=200)
        g("GET", "/analytics/top?by=magic", "/analytics/top", expect=400)
        g("GET", "/analytics/series?seconds=60", "/analytics/series", expect=200)
        g("GET", "/analytics/series?seconds=99999", "/analytics/series", expect=400)
        g("GET", "/analytics/limiters", "/analytics/limiters", expect=200)
        g("GET", "/analytics/workers", "/analytics/workers", expect=200)
        g("GET", f"/analytics/{user}", "/analytics/{user}", expect=200)
        g("GET", "/analytics/users/top", "/analytics/users/{user}", expect=200)
        g("GET", "/dashboard", "/dashboard", expect=200)
        for asset in ("dashboard.js", "dashboard.css", "uPlot.iife.min.js", "uPlot.min.css",
                      "uPlot.LICENSE"):
            g("GET", "/dashboard/assets/" + asset, "/dashboard/assets/{file}", expect=200)
        g("GET", "/dashboard/assets/nope.js", "/dashboard/assets/{file}", expect=404)
        g("GET", "/health", "/health", expect=200)
        g("GET", "/ready", "/ready", expect=200)
        g("GET", "/live", "/live", expect=200)
        g("GET", "/metrics", "/metrics", expect=200)

    def test_3b_worker_answers(self):
        worker = STACK["WORKER_URLS"].split(",")[0]
        w = lambda *args, **kw: self.answer(worker, *args, **kw)  # noqa: E731
        w("GET", "/health", "/health", expect=200)
        w("GET", "/live", "/live", expect=200)
        w("GET", "/metrics", "/metrics", expect=200)

    def test_4_every_operation_of_the_spec_was_validated(self):
        self.assertEqual(spec_operations() - covered, set())


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
