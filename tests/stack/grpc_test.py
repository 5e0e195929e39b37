"""Envoy's rate limit service on a stack started by scripts/up (tests/stack/stack), asked through
grpcurl (built by scripts/setup), with the reference-format example of docs/configuration.md as
the stack's limits file, unchanged.
    python3 tests/stack/grpc_test.py <stack.env>"""
import json
import os
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import stack_env  # noqa: E402

STACK = stack_env.load(sys.argv[1])
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GRPCURL = os.path.join(REPO, ".cache", "go", "bin", "grpcurl")
METHOD = "envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit"


def grpcurl(*args, data=None):
    cmd = [GRPCURL, "-plaintext"]
    if data is not None:
        cmd += ["-d", json.dumps(data)]
    p = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout + p.stderr


def ask(*descriptors, domain="edge"):
    request = {"domain": domain,
               "descriptors": [{"entries": [{"key": k, "value": v} for k, v in d]}
                               for d in descriptors]}
    code, out = grpcurl(STACK["LIMITER_GRPC"], METHOD, data=request)
    assert code == 0, out
    return json.loads(out)


class StackGrpcTest(unittest.TestCase):
    def test_the_docs_example_config_is_the_stacks_file_unchanged(self):
        with open(os.path.join(REPO, "docs", "configuration.md")) as f:
            docs = f.read()
        section = docs[docs.index("## Envoy ratelimit's format"):]
        example = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
        with open(os.path.join(REPO, "tests", "stack", "limits", "edge.yaml")) as f:
            self.assertEqual(f.read(), example)

    def test_reflection_lists_the_service_and_health_answers(self):
        code, out = grpcurl(STACK["LIMITER_GRPC"], "list")
        self.assertEqual(code, 0, out)
        self.assertIn("envoy.service.ratelimit.v3.RateLimitService", out)
        # Through reflection alone, as the README shows: no .proto file.
        code, out = grpcurl(STACK["LIMITER_GRPC"], "grpc.health.v1.Health/Check")
        self.assertEqual(code, 0, out)
        self.assertIn("SERVING", out)

    def test_the_documented_answers_for_the_docs_example(self):
        address = f"198.51.100.{int(time.time()) % 200}-{os.getpid()}"
        first = ask([("remote_address", address)], [("path", "/login")],
                    [("source_cluster", "proxy"), ("destination_cluster", "db")],
                    [("internal", "yes")], [("unknown", "x")])
        self.assertEqual(first["overall_code"], "OK")
        s = first["statuses"]
        self.assertEqual(s[0]["current_limit"]["requests_per_unit"], 60)
        self.assertEqual(s[0]["current_limit"]["unit"], "MINUTE")
        self.assertEqual(s[0]["limit_remaining"], 59)
        self.assertEqual(s[1]["current_limit"]["name"], "login")
        self.assertEqual(s[1]["current_limit"]["unit"], "HOUR")
        self.assertEqual(s[2]["current_limit"]["requests_per_unit"], 100)  # nested, gcra
        self.assertNotIn("current_limit", s[3])  # unlimited, as the reference answers it
        self.assertEqual(s[3]["limit_remaining"], 4294967295)
        self.assertNotIn("current_limit", s[4])  # no match
        # No headers unless LIMIT_RESPONSE_HEADERS_ENABLED, as the reference.
        self.assertEqual(first.get("response_headers_to_add", []), [])
        # Every gRPC decision is an event: the address is the user in the analytics.
        self.assertTrue(stack_env.eventually(lambda: stack_env.get_json(
            STACK["GATEWAY_URL"] + "/analytics/" + address)[1].get("total") == 1))

    def test_a_bad_request_is_invalid_argument(self):
        code, out = grpcurl(STACK["LIMITER_GRPC"], METHOD, data={"domain": ""})
        self.assertNotEqual(code, 0)
        self.assertIn("InvalidArgument", out)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
