"""MSAL for Python flows against the Entra ID emulator, for test/testing/msal-python.test.ts.

Reads one JSON object on stdin:
  {"ca_file": PATH, "jobs": [{"id", "flow": "client_credentials" | "on_behalf_of", "client_id",
    "credential": SECRET | {"private_key", "thumbprint", "public_certificate"?},
    "options": {kwargs of ConfidentialClientApplication}, "scopes": [...],
    "user_assertion"?: TOKEN, "trust_env"?: BOOL}]}
and writes {"msal": VERSION, "results": {ID: RESULT}} on stdout, where RESULT holds the token
response's fields (access_token, or error, error_description, error_codes, suberror), or
{"exception", "message"} when MSAL raised instead.

Each job gets its own requests.Session that trusts ca_file alone. trust_env is False unless the
job says otherwise: with it, REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE in the environment would
silently replace `verify` (requests merges the environment's bundle over the session's).
"""
import json
import sys
import warnings

import msal
import requests

FIELDS = ("access_token", "token_type", "error", "error_description", "error_codes", "suberror")


def run(job, ca_file):
    http = requests.Session()
    http.trust_env = job.get("trust_env", False)
    http.verify = ca_file
    try:
        app = msal.ConfidentialClientApplication(
            job["client_id"],
            client_credential=job["credential"],
            http_client=http,
            **job["options"],
        )
        if job["flow"] == "client_credentials":
            result = app.acquire_token_for_client(job["scopes"])
        else:
            result = app.acquire_token_on_behalf_of(job["user_assertion"], job["scopes"])
    except Exception as error:  # the test asserts on what MSAL raised
        return {"exception": type(error).__name__, "message": str(error)}
    finally:
        http.close()
    return {field: result[field] for field in FIELDS if field in result}


def main():
    request = json.load(sys.stdin)
    # acquire_token_for_client() warns about /common and /organizations; the emulator answers.
    warnings.simplefilter("ignore", DeprecationWarning)
    results = {job["id"]: run(job, request["ca_file"]) for job in request["jobs"]}
    json.dump({"msal": msal.__version__, "results": results}, sys.stdout)


if __name__ == "__main__":
    main()
