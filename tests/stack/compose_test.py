"""docker-compose.yml deploys what scripts/up runs, checked without a daemon: it validates with
Debian's docker-compose, and its parts agree with each other and with the code: every service's
port is the one Prometheus scrapes, the gateway finds limiters and workers by DNS, analytics live on
their own Redis with AOF, the topic is created with KAFKA_PARTITIONS, every service has a
healthcheck, and every metric the Grafana dashboard draws exists in the code.
    .cache/venv/bin/python tests/stack/compose_test.py"""
import glob
import json
import os
import re
import subprocess
import unittest

import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def compose_config():
    p = subprocess.run(["docker-compose", "-f", os.path.join(REPO, "docker-compose.yml"), "config"],
                       capture_output=True, text=True, cwd=REPO)
    assert p.returncode == 0, p.stderr
    return yaml.safe_load(p.stdout)


class ComposeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.config = compose_config()
        cls.services = cls.config["services"]

    def env(self, service):
        e = self.services[service].get("environment", {})
        return e if isinstance(e, dict) else dict(x.split("=", 1) for x in e)

    def test_every_service_of_scripts_up_is_there_with_a_healthcheck(self):
        for name in ("redis", "redis-analytics", "kafka", "limiter", "analytics-worker", "gateway",
                     "prometheus", "grafana"):
            self.assertIn(name, self.services)
            self.assertIn("healthcheck", self.services[name], name)

    def test_analytics_live_on_their_own_redis_with_aof(self):
        self.assertIn("--appendonly", self.services["redis-analytics"]["command"])
        for name in ("limiter", "analytics-worker", "gateway"):
            self.assertEqual(self.env(name)["ANALYTICS_REDIS_URL"], "redis://redis-analytics:6379")

    def test_the_topic_is_created_with_kafka_partitions_before_anything_uses_it(self):
        init = " ".join(self.services["kafka-init"]["command"])
        self.assertRegex(init, r"--partitions \"?\d+")
        for name in ("limiter", "analytics-worker"):
            self.assertEqual(self.services[name]["depends_on"]["kafka-init"]["condition"],
                             "service_completed_successfully")

    def test_the_gateway_and_prometheus_find_every_replica_by_dns(self):
        gateway = self.env("gateway")
        self.assertEqual(gateway["LIMITER_URLS"], "http://limiter:8080")
        self.assertEqual(gateway["WORKER_URLS"], "http://analytics-worker:8090")
        with open(os.path.join(REPO, "config", "prometheus", "prometheus.yml")) as f:
            prometheus = yaml.safe_load(f)
        ports = {"limiter": self.env("limiter")["LIMITER_PORT"],
                 "analytics-worker": self.env("analytics-worker")["WORKER_PORT"],
                 "gateway": self.env("gateway")["GATEWAY_PORT"]}
        jobs = {j["job_name"]: j["dns_sd_configs"][0] for j in prometheus["scrape_configs"]}
        self.assertEqual(set(jobs), set(ports))
        for name, sd in jobs.items():
            self.assertEqual(sd["names"], [name])
            self.assertEqual(str(sd["port"]), str(ports[name]), name)

    def test_every_metric_of_the_grafana_dashboard_exists_in_the_code(self):
        with open(os.path.join(REPO, "config", "grafana", "dashboards", "rate-limiter.json")) as f:
            dashboard = json.load(f)
        used = set()
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                used |= set(re.findall(r"\b(rl_[a-z_]+?)(?:_bucket|_sum|_count)?\b",
                                       target["expr"]))
        self.assertGreater(len(used), 10)
        code = ""
        for path in glob.glob(os.path.join(REPO, "*", "**", "*.cc"), recursive=True):
            if "/build/" not in path and "/tests/" not in path:
                with open(path) as f:
                    code += f.read()
        for metric in sorted(used):
            self.assertIn('"' + metric + '"', code, metric)
        with open(os.path.join(REPO, "config", "grafana", "provisioning", "datasources",
                               "prometheus.yml")) as f:
            uid = yaml.safe_load(f)["datasources"][0]["uid"]
        for panel in dashboard["panels"]:
            self.assertEqual(panel["datasource"]["uid"], uid)


if __name__ == "__main__":
    unittest.main(argv=["compose_test", "-v"])
