#!/usr/bin/env python3
"""scripts/up reports a service that dies at once, with the log that holds its error, and refuses a
topology change in one RUN_DIR at once, saying why.

Before: a Kafka that could not bind its port (BindException, within seconds) was waited for the
whole UP_WAIT_KAFKA_S, then an empty logs/kafka.log was shown; and `TOPOLOGY=cluster scripts/up`
on the RUN_DIR of a small stack failed after 198 s with INCONSISTENT_CLUSTER_ID.

usage: up_test.py   (BUILD_DIR in the environment, as ctest sets it)
"""
import os
import random
import shutil
import socket
import subprocess
import sys
import time
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD_DIR = os.environ.get("BUILD_DIR", os.path.join(REPO, "build"))


def free_block(size=12):
    """A block of free loopback ports below the kernel's ephemeral range."""
    for _ in range(200):
        base = random.randrange(30000, 31900, 20)
        socks = []
        try:
            for port in range(base, base + size):
                s = socket.socket()
                s.bind(("127.0.0.1", port))
                socks.append(s)
            return base
        except OSError:
            pass
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free ports")


class UpTest(unittest.TestCase):
    def setUp(self):
        self.run_dir = os.path.join(BUILD_DIR, "test-tmp", "up_test_%d" % os.getpid(), self._testMethodName)
        shutil.rmtree(self.run_dir, ignore_errors=True)
        os.makedirs(self.run_dir)
        base = free_block()
        self.env = dict(os.environ, RUN_DIR=self.run_dir, REDIS_PORT=str(base),
                        KAFKA_PORT=str(base + 1), KAFKA_CONTROLLER_PORT=str(base + 2),
                        LIMITER_PORT=str(base + 4), GATEWAY_PORT=str(base + 6),
                        WORKER_PORT=str(base + 8), WORKERS="1", LIMITERS="1",
                        UP_WAIT_KAFKA_S="180", BUILD_DIR=BUILD_DIR)
        self.env.pop("TOPOLOGY", None)

    def tearDown(self):
        subprocess.run([os.path.join(REPO, "scripts", "down")], env=self.env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)

    def up(self, **extra):
        env = dict(self.env, **extra)
        start = time.monotonic()
        done = subprocess.run([os.path.join(REPO, "scripts", "up")], env=env, capture_output=True,
                              text=True, timeout=300)
        return done, time.monotonic() - start

    def test_a_broker_that_exits_is_reported_at_once_with_its_error(self):
        # Bound but not listening: the port check of scripts/up finds it free (nothing answers),
        # and the broker's own bind fails.
        holder = socket.socket()
        holder.bind(("127.0.0.1", int(self.env["KAFKA_PORT"])))
        try:
            done, seconds = self.up()
        finally:
            holder.close()
        output = done.stdout + done.stderr
        self.assertNotEqual(done.returncode, 0, output)
        self.assertLess(seconds, 90, "waited for a broker that had exited:\n" + output)
        self.assertIn("kafka exited before it became healthy", output)
        self.assertIn("server.log", output)
        self.assertRegex(output, r"BindException|Address already in use", output)

    def test_a_topology_change_in_one_run_dir_is_refused_at_once_saying_why(self):
        with open(os.path.join(self.run_dir, "topology"), "w") as f:
            f.write("small\n")
        done, seconds = self.up(TOPOLOGY="cluster")
        output = done.stdout + done.stderr
        self.assertNotEqual(done.returncode, 0, output)
        self.assertLess(seconds, 20, output)
        self.assertIn("TOPOLOGY=small", output)
        self.assertIn("RUN_DIR", output)


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    sys.exit(0 if result.wasSuccessful() else 1)
