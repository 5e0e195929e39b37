"""rlctl against a stack started by scripts/up (tests/stack/stack): every subcommand, its table
and --json output, and its exit codes (0 ok; 1 blocked, unhealthy or invalid; 2 usage or
connection error).
    python3 tests/stack/rlctl_test.py <stack.env> <rlctl binary>"""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import stack_env  # noqa: E402

ENV_FILE, RLCTL = sys.argv[1], sys.argv[2]
STACK = stack_env.load(ENV_FILE)
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RUN = f"{os.getpid()}-{int(time.time())}"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rlctl(*args, env=None, timeout=60):
    full_env = dict(os.environ)
    full_env.update({
        "RLCTL_GATEWAY_URL": STACK["GATEWAY_URL"], "RLCTL_LIMITER_URL": STACK["LIMITER_URL"],
        "KAFKA_BROKERS": STACK["KAFKA_BROKERS"], "KAFKA_TOPIC": STACK["KAFKA_TOPIC"],
        "ADMIN_TOKEN": STACK["ADMIN_TOKEN"]})
    full_env.update(env or {})
    p = subprocess.run([RLCTL, *args], capture_output=True, text=True, env=full_env,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


class RlctlTest(unittest.TestCase):
    def test_check_answers_with_exit_0_until_blocked_then_1(self):
        user = f"rlctl-check-{RUN}"
        codes = [rlctl("check", user, "--action", "login")[0] for _ in range(4)]
        self.assertEqual(codes, [0, 0, 0, 1])  # the login rule admits 3 an hour
        code, out, _ = rlctl("--json", "check", user, "--action", "login")
        self.assertEqual(code, 1)
        answer = json.loads(out)
        self.assertFalse(answer["allowed"])
        self.assertEqual(answer["outcome"], "blocked")
        self.assertEqual(answer["rule"], "login")
        code, out, _ = rlctl("check", user, "--action", "search")
        self.assertEqual(code, 0)
        self.assertRegex(out.splitlines()[0], r"user\s+action\s+allowed\s+outcome")
        self.assertRegex(out, rf"{user}\s+search\s+yes\s+allowed")

    def test_analytics_and_top_show_what_was_decided(self):
        user = f"rlctl-analytics-{RUN}"
        for _ in range(5):
            rlctl("check", user, "--action", "login")
        self.assertTrue(stack_env.eventually(
            lambda: json.loads(rlctl("--json", "analytics", user)[1] or "{}").get("total") == 5))
        code, out, _ = rlctl("--json", "analytics", user)
        self.assertEqual(code, 0)
        u = json.loads(out)
        self.assertEqual((u["allowed"], u["blocked"]), (3, 2))
        self.assertEqual(u["by_rule"], {"login": {"blocked": 2}})
        self.assertRegex(u["last_minutes"][-1]["minute"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:00Z$")
        code, out, _ = rlctl("analytics", user)
        self.assertEqual(code, 0)
        self.assertRegex(out, r"rule login blocked\s+2")
        self.assertRegex(out, r"minute \(UTC\)\s+allowed\s+blocked")
        code, out, _ = rlctl("top", "--by", "rule")
        self.assertEqual(code, 0)
        self.assertRegex(out, r"login\s+\d+")
        code, out, _ = rlctl("--json", "top", "--limit", "100")
        self.assertIn(user, [e["user_id"] for e in json.loads(out)["users"]])

    def test_limits_show_and_reset_a_users_state(self):
        user = f"rlctl-limits-{RUN}"
        for _ in range(3):
            rlctl("check", user, "--action", "login")
        self.assertEqual(rlctl("check", user, "--action", "login")[0], 1)
        code, out, _ = rlctl("--json", "limits", "show", user, "--action", "login")
        self.assertEqual(code, 0)
        shown = json.loads(out)
        self.assertEqual({r["rule"] for r in shown["rules"]}, {"per-user-action", "login"})
        code, out, _ = rlctl("limits", "reset", user, "--action", "login")
        self.assertEqual(code, 0)
        self.assertRegex(out, r"deleted keys: [1-9]")
        self.assertEqual(rlctl("check", user, "--action", "login")[0], 0)  # admitted again
        code, _, err = rlctl("limits", "show", user, env={"ADMIN_TOKEN": ""})
        self.assertEqual(code, 2)
        self.assertIn("ADMIN_TOKEN", err)

    def test_config_validate_connects_to_nothing_and_quotes_bad_values(self):
        code, out, _ = rlctl("config", "validate", os.path.join(REPO, "config", "limits.yaml"))
        self.assertEqual(code, 0)
        self.assertIn("valid", out)
        self.assertEqual(rlctl("config", "validate", os.path.join(REPO, "tests", "stack",
                                                                  "limits"))[0], 0)
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write("rules:\n  - {name: a, limit: 10, window: 1m, algorithm: no_such_algorithm}\n"
                    "  - {name: b, limit: 0, window: 1m}\n")
        code, _, err = rlctl("config", "validate", f.name,
                             env={"RLCTL_GATEWAY_URL": "http://127.0.0.1:1"})
        self.assertEqual(code, 1)
        self.assertIn('rules[0].algorithm: "no_such_algorithm" is not one of', err)
        self.assertIn('rules[1].limit: "0"', err)
        code, out, _ = rlctl("--json", "config", "validate", f.name)
        self.assertEqual(code, 1)
        self.assertEqual(len(json.loads(out)["errors"]), 2)
        os.unlink(f.name)

    def test_health_lists_every_service(self):
        code, out, _ = rlctl("health")
        self.assertEqual(code, 0, out)
        self.assertRegex(out, r"gateway\s+http://")
        self.assertRegex(out, r"limiter\s+http://\S+\s+ok\s+redis ok, kafka ok")
        self.assertEqual(len(re.findall(r"worker\s+http://\S+\s+ok", out)), 2, out)
        code, out, _ = rlctl("--json", "health")
        report = json.loads(out)
        self.assertTrue(report["healthy"])
        self.assertEqual(len(report["workers"]), 2)

    def test_health_exits_1_when_a_service_is_down(self):
        # A second gateway beside the stack's, whose workers include one that is not there.
        port = free_port()
        env = dict(os.environ, GATEWAY_HOST="127.0.0.1", GATEWAY_PORT=str(port),
                   LIMITER_URLS=STACK["LIMITER_URL"], REDIS_URL=STACK["REDIS_URL"],
                   ANALYTICS_REDIS_URL=STACK["REDIS_URL"],
                   WORKER_URLS=STACK["WORKER_URLS"] + f",http://127.0.0.1:{free_port()}")
        gateway = subprocess.Popen([os.path.join(os.path.dirname(RLCTL), "..", "..", "gateway",
                                                 "gateway")], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            self.assertTrue(stack_env.eventually(
                lambda: stack_env.request("GET", url + "/live")[0] == 200, timeout=10))
            code, out, _ = rlctl("health", env={"RLCTL_GATEWAY_URL": url})
            self.assertEqual(code, 1, out)
            self.assertRegex(out, r"worker\s+http://127.0.0.1:\d+\s+down")
            self.assertEqual(len(re.findall(r"worker\s+http://\S+\s+ok", out)), 2, out)
            self.assertFalse(json.loads(rlctl("--json", "health",
                                              env={"RLCTL_GATEWAY_URL": url})[1])["healthy"])
        finally:
            gateway.terminate()
            gateway.wait(timeout=30)

    def test_tail_shows_decisions_as_they_happen_with_their_request_ids(self):
        user = f"rlctl-tail-{RUN}"
        tail = subprocess.Popen(
            [RLCTL, "--json", "--brokers", STACK["KAFKA_BROKERS"], "--topic", STACK["KAFKA_TOPIC"],
             "tail", "--user", user, "--count", "3", "--seconds", "60"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(3)  # assigned at the end of every partition before the traffic
        ids = []
        for i in range(4):
            status, headers, _ = stack_env.request(
                "POST", STACK["GATEWAY_URL"] + "/check",
                {"user_id": user if i != 1 else "someone-else", "action": "login"},
                headers={"X-Request-Id": f"tail-{RUN}-{i}"})
            if i != 1:
                ids.append(headers["X-Request-Id"])
        out, err = tail.communicate(timeout=60)
        self.assertEqual(tail.returncode, 0, err)
        lines = [json.loads(line) for line in out.splitlines()]
        self.assertEqual([e["request_id"] for e in lines], ids)
        self.assertEqual({e["user_id"] for e in lines}, {user})
        code, out, _ = rlctl("tail", "--outcome", "blocked", "--seconds", "1")
        self.assertEqual(code, 0)
        self.assertRegex(out.splitlines()[0], r"time \(UTC\)\s+user\s+action\s+outcome")

    def test_usage_and_connection_errors_exit_2_and_every_command_has_help(self):
        for args in (["nope"], [], ["check"], ["top", "--by", "magic"], ["check", "u", "--cost",
                     "x"], ["--gateway"], ["limits", "peek", "u"], ["config", "lint", "f"]):
            code, _, err = rlctl(*args)
            self.assertEqual(code, 2, args)
            self.assertIn("usage", err, args)
        for command in ("check", "analytics", "top", "limits", "config", "health", "tail"):
            code, out, _ = rlctl(command, "--help")
            self.assertEqual(code, 0, command)
            self.assertIn("usage: rlctl " + command, out)
        code, _, err = rlctl("--gateway", "http://127.0.0.1:1", "check", "u")
        self.assertEqual(code, 2)
        self.assertIn("cannot reach", err)
        code, _, err = rlctl("--gateway", "http://127.0.0.1:1", "health")
        self.assertEqual(code, 2)

    def test_errors_say_why_and_json_mode_always_prints_json(self):
        # Why a service cannot be reached, not just "Connection".
        code, out, err = rlctl("--gateway", "http://127.0.0.1:1", "check", "u")
        self.assertEqual(code, 2)
        self.assertIn("connection refused", err)
        code, _, err = rlctl("--gateway", "http://no-such-host.invalid:80", "check", "u")
        self.assertIn("does not resolve", err)
        # --json: errors are JSON on stdout as well.
        code, out, _ = rlctl("--json", "--gateway", "http://127.0.0.1:1", "check", "u")
        self.assertEqual(code, 2)
        self.assertEqual(json.loads(out)["error"]["code"], "unreachable")
        code, out, _ = rlctl("--json", "tail", "--outcome", "bogus")
        self.assertEqual(code, 2)  # refused: it is no outcome
        self.assertIn("allowed", json.loads(out)["error"]["message"])
        # --seconds bounds the wait even when no broker answers.
        start = time.monotonic()
        code, _, _ = rlctl("tail", "--seconds", "2", env={"KAFKA_BROKERS": "127.0.0.1:1"})
        self.assertEqual(code, 2)
        self.assertLess(time.monotonic() - start, 4.5)

    def test_limits_show_shows_bans_and_strikes(self):
        user = f"rlctl-bans-{RUN}"
        for _ in range(3):
            rlctl("check", user, "--action", "login")
        code, out, _ = rlctl("limits", "show", user, "--action", "login")
        self.assertEqual(code, 0)
        self.assertIn("ban", out.splitlines()[1])  # a column of its own
        self.assertIn("strikes", out.splitlines()[1])
        self.assertNotIn("ttl -2", out)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
