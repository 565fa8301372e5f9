// A third party's first steps, with the client generated from openapi.yaml:
// list the sessions, book a seat for a user with an API key, read the
// booking back. Type-checked with `tsc --noEmit` before it runs, so a
// change of the document that breaks a client breaks this.
import createClient from "openapi-fetch";
import type { paths } from "./schema.js";

const base = process.env.IMMERSION_BASE;
const key = process.env.IMMERSION_KEY;
const user = process.env.IMMERSION_USER;
if (!base || !key || !user) {
  throw new Error("IMMERSION_BASE, IMMERSION_KEY and IMMERSION_USER are needed");
}

const api = createClient<paths>({
  baseUrl: base,
  headers: { Authorization: `Bearer ${key}` },
});

const sessions = await api.GET("/api/admin/sessions", { params: { query: { limit: 10 } } });
if (!sessions.data) throw new Error(`sessions: ${JSON.stringify(sessions.error)}`);
const open = sessions.data.find((s) => s.available_places > 0 && s.status === "open");
if (!open) throw new Error("no open session");

const held = await api.POST("/api/sessions/{id}/checkout", {
  params: { path: { id: open.id }, query: { on_behalf_of: user } },
});
if (!held.data) throw new Error(`checkout: ${JSON.stringify(held.error)}`);

const booking = await api.GET("/api/bookings/{id}", {
  params: { path: { id: held.data.booking_id } },
});
if (!booking.data) throw new Error(`booking: ${JSON.stringify(booking.error)}`);
if (booking.data.status !== "held" || booking.data.session_id !== open.id) {
  throw new Error(`unexpected booking ${JSON.stringify(booking.data)}`);
}
console.log(`typescript: held ${booking.data.id} in ${open.id} for ${user}`);
