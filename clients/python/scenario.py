"""A third party's first steps, with the client openapi-python-client
generated from openapi.yaml: list the sessions, book a seat for a user
with an API key, read the booking back."""

import os
import sys

sys.path.insert(0, sys.argv[1])  # where the client was generated

from immersion_api_client import AuthenticatedClient  # noqa: E402
from immersion_api_client.api.admin import list_admin_sessions  # noqa: E402
from immersion_api_client.api.bookings import checkout, get_booking  # noqa: E402
from immersion_api_client.models import BookingDto, CheckoutResponse  # noqa: E402

base, key, user = (os.environ[n] for n in ("IMMERSION_BASE", "IMMERSION_KEY", "IMMERSION_USER"))
api = AuthenticatedClient(base_url=base, token=key, raise_on_unexpected_status=True)

sessions = list_admin_sessions.sync(client=api, limit=10)
assert isinstance(sessions, list), sessions
open_one = next(s for s in sessions if s.available_places > 0 and s.status == "open")

held = checkout.sync(id=open_one.id, client=api, on_behalf_of=user)
assert isinstance(held, CheckoutResponse), held

booking = get_booking.sync(id=held.booking_id, client=api)
assert isinstance(booking, BookingDto), booking
assert booking.status == "held" and booking.session_id == open_one.id, booking
print(f"python: held {booking.id} in {open_one.id} for {user}")
