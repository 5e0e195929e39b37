"""Where the stack of tests/stack/stack is (its stack.env), and small HTTP helpers: shared by the
stack tests. Standard library only."""
import json
import time
import urllib.error
import urllib.request


def load(path):
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if "=" in line:
                key, value = line.split("=", 1)
                env[key] = value
    return env


def request(method, url, body=None, headers=None, timeout=10):
    """(status, headers, body bytes) of one HTTP request; HTTP errors are answers too, and no
    answer at all (refused, reset) is status 0."""
    data = None
    headers = dict(headers or {})
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:
            return res.status, dict(res.headers), res.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()
    except (urllib.error.URLError, ConnectionError) as e:
        return 0, {}, str(e).encode()


def get_json(url, **kwargs):
    status, _, body = request("GET", url, **kwargs)
    return status, json.loads(body)


def eventually(condition, timeout=30, interval=0.25):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()
