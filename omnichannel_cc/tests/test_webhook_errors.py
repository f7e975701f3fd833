"""What a sender reads when a webhook request fails inside Odoo: JSON, with
503 + Retry-After while the database cannot be reached (a PBX or gateway
retries it), never Odoo's HTML error page. The dispatcher runs on a real
``odoo.http.Request`` built from a WSGI environment; the database errors are
the ones psycopg2 raises when PostgreSQL goes away."""

import json

import psycopg2
from werkzeug.exceptions import NotFound
from werkzeug.test import EnvironBuilder

from odoo.http import HTTPRequest, Request
from odoo.tests import BaseCase, tagged

from ..controllers.webhook import SignedWebhookDispatcher


@tagged("post_install", "-at_install")
class TestWebhookErrors(BaseCase):
    def _answer(self, exc):
        environ = EnvironBuilder(
            path="/omnichannel/voip/token/event",
            method="POST",
            data=b"{}",
            content_type="application/json",
        ).get_environ()
        dispatcher = SignedWebhookDispatcher(Request(HTTPRequest(environ)))
        return dispatcher.handle_error(exc)

    def test_database_gone_is_json_503(self):
        for exc in (
            psycopg2.OperationalError("server closed the connection unexpectedly"),
            psycopg2.InterfaceError("connection already closed"),
        ):
            response = self._answer(exc)
            self.assertEqual(response.status_code, 503)
            self.assertEqual(response.mimetype, "application/json")
            self.assertEqual(response.headers["Retry-After"], "5")
            self.assertIn("again later", json.loads(response.get_data())["error"])

    def test_other_errors_are_json_500_without_details(self):
        response = self._answer(KeyError("secret detail"))
        self.assertEqual(response.status_code, 500)
        self.assertEqual(response.mimetype, "application/json")
        body = json.loads(response.get_data())
        self.assertEqual(body, {"error": "Internal server error."})

    def test_http_exceptions_keep_odoo_answer(self):
        self.assertIsInstance(self._answer(NotFound()), NotFound)
