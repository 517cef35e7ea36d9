"""A local fake of Twilio's REST API, as far as the import uses it: the IncomingPhoneNumbers
list of one Twilio account, served over HTTP on 127.0.0.1 by a ThreadingHTTPServer.

Its answers have the shape of Twilio's: HTTP Basic auth with the Account SID and auth token
(401 with Twilio's error JSON otherwise), pages of `PageSize` records (clamped to the server's
largest page, as Twilio clamps to 1000) with `first_page_uri`, `next_page_uri`,
`previous_page_uri`, `page`, `page_size`, `start`, `end` and `uri`, and a `PageToken` in the
next page's link that says where the next page starts."""

import base64
import hashlib
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

LIST_PATH = "/2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json"
DEFAULT_PAGE_SIZE = 50


def phone_number_sid(number: str) -> str:
    return "PN" + hashlib.md5(number.encode()).hexdigest()


def incoming_phone_number(account_sid: str, number: str) -> dict:
    """One record as Twilio lists it (the fields of its documentation's example)."""
    sid = phone_number_sid(number)
    uri = f"/2010-04-01/Accounts/{account_sid}/IncomingPhoneNumbers/{sid}.json"
    digits = number.removeprefix("+1")
    return {
        "account_sid": account_sid,
        "address_requirements": "none",
        "address_sid": None,
        "api_version": "2010-04-01",
        "beta": False,
        "capabilities": {"voice": True, "sms": True, "mms": True, "fax": False},
        "date_created": "Thu, 30 Jul 2015 23:19:04 +0000",
        "date_updated": "Thu, 30 Jul 2015 23:19:04 +0000",
        "emergency_status": "Inactive",
        "emergency_address_sid": None,
        "emergency_address_status": "unregistered",
        "friendly_name": f"({digits[:3]}) {digits[3:6]}-{digits[6:]}" if len(digits) == 10 else number,
        "identity_sid": None,
        "origin": "twilio",
        "phone_number": number,
        "sid": sid,
        "sms_application_sid": "",
        "sms_fallback_method": "POST",
        "sms_fallback_url": "",
        "sms_method": "POST",
        "sms_url": "",
        "status_callback": "",
        "status_callback_method": "POST",
        "trunk_sid": None,
        "uri": uri,
        "voice_application_sid": None,
        "voice_caller_id_lookup": False,
        "voice_fallback_method": "POST",
        "voice_fallback_url": None,
        "voice_method": "POST",
        "voice_url": "https://demo.twilio.com/welcome/voice/",
        "bundle_sid": None,
        "voice_receive_mode": "voice",
        "status": "in-use",
        "subresource_uris": {"assigned_add_ons": uri.replace(".json", "/AssignedAddOns.json")},
    }


def twilio_error(status: int, code: int, message: str) -> dict:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


class FakeTwilio:
    """Start with `with FakeTwilio(...) as fake:`; `fake.base_url` is where it listens.

    `numbers` is the Twilio account's list, in Twilio's order; tests may change it between
    requests. `requests` records each request's path and query, in order."""

    def __init__(self, *, account_sid: str, auth_token: str, numbers=(), max_page_size: int = 1000):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.numbers = list(numbers)
        self.max_page_size = max_page_size
        # Seconds to wait before each answer, to try the client's timeout.
        self.delay = 0.0
        # (status, Twilio error code, message) to answer every authorized request with.
        self.failure: tuple[int, int, str] | None = None
        # A body (not JSON) to answer every authorized request with, status 200.
        self.html_answer: str | None = None
        # Called (in the server's thread) as each request arrives.
        self.on_request = None
        self.requests: list[str] = []
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        # A short poll interval, so that stopping the server does not hold up each test.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "FakeTwilio":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def is_authorized(self, header: str) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return header == f"Basic {expected}"

    def list_page(self, query: dict[str, str]) -> dict:
        path = LIST_PATH.format(sid=self.account_sid)
        page_size = min(int(query.get("PageSize", DEFAULT_PAGE_SIZE)), self.max_page_size)
        page = int(query.get("Page", 0))
        start = page * page_size
        token = query.get("PageToken", "")
        if token.startswith("PA"):  # the records after this one
            sids = [phone_number_sid(number) for number in self.numbers]
            start = sids.index(token[2:]) + 1
        records = [incoming_phone_number(self.account_sid, n) for n in self.numbers[start : start + page_size]]

        def uri(**params) -> str:
            return f"{path}?{urlencode({'PageSize': page_size, **params})}"

        has_next = start + page_size < len(self.numbers)
        return {
            "end": start + max(len(records) - 1, 0),
            "first_page_uri": uri(Page=0),
            "incoming_phone_numbers": records,
            "next_page_uri": uri(Page=page + 1, PageToken=f"PA{records[-1]['sid']}") if has_next else None,
            "page": page,
            "page_size": page_size,
            "previous_page_uri": uri(Page=page - 1, PageToken=f"PB{records[0]['sid']}") if page and records else None,
            "start": start,
            "uri": uri(**{key: value for key, value in query.items() if key != "PageSize"}),
        }


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        # A client that stopped waiting (the timeout tests) is not an error of the fake.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server_version = "fake-twilio"

    def do_GET(self) -> None:
        fake: FakeTwilio = self.server.fake
        fake.requests.append(self.path)
        if fake.on_request:
            fake.on_request()
        if fake.delay:
            time.sleep(fake.delay)
        url = urlsplit(self.path)
        if not fake.is_authorized(self.headers.get("Authorization", "")):
            self._json(401, twilio_error(401, 20003, "Authenticate"))
        elif fake.html_answer is not None:
            body = fake.html_answer.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif fake.failure:
            status, code, message = fake.failure
            self._json(status, twilio_error(status, code, message))
        elif url.path != LIST_PATH.format(sid=fake.account_sid):
            self._json(404, twilio_error(404, 20404, f"The requested resource {url.path} was not found"))
        else:
            query = {key: values[-1] for key, values in parse_qs(url.query).items()}
            self._json(200, fake.list_page(query))

    def _json(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="Twilio API"')
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args) -> None:
        pass  # quiet test output
