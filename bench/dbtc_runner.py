# mypy: ignore-errors
"""Runs dbtc's `trigger_autoscaling_ci_job` once, inside dbtc's own virtualenv.

Usage: python dbtc_runner.py '{"account_id": 1, "job_id": 2, "payload": {...}, ...}'
with DBT_CLOUD_HOST=127.0.0.1:PORT and DBT_CLOUD_SERVICE_TOKEN set. Prints one JSON line with the result.

Two adaptations let dbtc talk to the local emulator, and neither changes which requests it makes: dbtc builds
`https://` URLs only, so the scheme becomes `http://` (the emulator speaks plain HTTP on loopback, as it does to
the action); and some dbtc paths lack the trailing `/` that dbt Cloud tolerates but the emulator requires.
"""

import json
import sys
import time

started = time.time()

from dbtc import dbtCloudClient  # noqa: E402
from dbtc.client.base import _Client  # noqa: E402

imported = time.time()


def _full_url(self, path=None):
    url = f"http://{self._host}{self._path}" + (path or "")
    return url if url.endswith("/") else url + "/"


_Client.full_url = _full_url


def main() -> int:
    args = json.loads(sys.argv[1])
    client = dbtCloudClient()
    session = client.cloud.session
    # dbtc mounts its retrying adapter for https only; keep the same retries on the http URL.
    session.mount("http://", session.get_adapter("https://x/"))
    kwargs = {
        key: args[key] for key in ("should_poll", "poll_interval", "delete_cloned_job", "max_run_slots") if key in args
    }
    result = {"started": started, "imported": imported}
    try:
        run = client.cloud.trigger_autoscaling_ci_job(args["account_id"], args["job_id"], args["payload"], **kwargs)
        data = run.get("data") or {}
        result.update(
            {
                "ok": True,
                "run_id": data.get("id"),
                "status": data.get("status"),
                "job_id": data.get("job_definition_id"),
            }
        )
    except Exception as exc:  # report, so the bench can show what dbtc did
        result.update({"ok": False, "error": f"{type(exc).__name__}: {exc}"})
    result["exited"] = time.time()
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
