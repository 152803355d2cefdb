"""The metrics of one run (strategy x replication): names, types, units, meaning.

This table is the documented schema of ``summary.parquet`` (docs/results.md is
checked against it by the tests), so a column can never appear undocumented.
"""

from __future__ import annotations

import pyarrow as pa

# name, arrow type, unit, description
METRICS: tuple[tuple[str, pa.DataType, str, str], ...] = (
    ("connects_per_rep_hour", pa.float64(), "1/h", "HEADLINE: (outbound + inbound + return connects) / paid rep hours"),
    ("outbound_connects_per_rep_hour", pa.float64(), "1/h", "outbound connects / paid rep hours"),
    ("dials_per_rep_hour", pa.float64(), "1/h", "outbound dials / paid rep hours"),
    ("connects", pa.int64(), "count", "every live conversation with the prospect: outbound + inbound + return"),
    ("outbound_connects", pa.int64(), "count", "live answers by the right party, bridged to a rep"),
    ("inbound_connects", pa.int64(), "count", "callbacks answered by a rep"),
    ("return_connects", pa.int64(), "count", "return calls (to missed callbacks) answered by the prospect"),
    ("dials", pa.int64(), "count", "outbound dials placed from the list (return calls not included)"),
    ("bad_numbers", pa.int64(), "count", "dials to a disconnected or wrong number (prospect retired)"),
    ("live_answers", pa.int64(), "count", "dials a person picked up: connects + gatekeepers + abandoned"),
    ("gatekeeper_answers", pa.int64(), "count", "live answers by someone other than the prospect"),
    ("abandoned_calls", pa.int64(), "count", "live answers with no rep free (parallel dialer): the person hears silence"),
    ("amd_hangups", pa.int64(), "count", "live people the AMD took for a machine and hung up on"),
    ("abandon_rate", pa.float64(), "ratio", "abandoned_calls / live_answers"),
    ("abandon_rate_with_amd", pa.float64(), "ratio", "(abandoned_calls + amd_hangups) / (live_answers + amd_hangups), as regulators count"),
    ("voicemails_reached", pa.int64(), "count", "dials that reached a voicemail greeting"),
    ("voicemails_left", pa.int64(), "count", "messages left (recorded drop or live)"),
    ("voicemails_heard", pa.int64(), "count", "messages the prospect listened to"),
    ("silent_hangups", pa.int64(), "count", "voicemails reached where the strategy (or a busy rep) left no message"),
    ("no_answers", pa.int64(), "count", "dials that rang out with no voicemail box"),
    ("cancelled_dials", pa.int64(), "count", "dials hung up while ringing because an inbound call took the rep"),
    ("silent_misses", pa.int64(), "count", "missed calls the prospect saw with no message (screening input)"),
    ("callbacks_received", pa.int64(), "count", "inbound callbacks that arrived during the campaign"),
    ("callbacks_missed", pa.int64(), "count", "callbacks that found no free rep (off shift or busy)"),
    ("callback_messages", pa.int64(), "count", "missed callers who left a message (queued return calls)"),
    ("return_calls", pa.int64(), "count", "return calls reps placed to missed callbacks"),
    ("opt_outs", pa.int64(), "count", "prospects who asked not to be called (left the list)"),
    ("callbacks_held", pa.int64(), "count", "callbacks that found no free rep at once and were taken after waiting (callbacks.hold_s)"),
    ("callbacks_after_campaign", pa.int64(), "count", "callbacks that would have come after the last campaign day (not simulated)"),
    ("recorded_drops", pa.int64(), "count", "messages left as recorded drops (the rest of voicemails_left were spoken live)"),
    ("recorded_drop_hours", pa.float64(), "h", "line time of the recorded drops: their message lengths (the rep is free meanwhile)"),
    ("confused_inbound_connects", pa.int64(), "count", "answered callbacks about a message from a confused or annoyed caller, not an interested one (strategies' genuine_callback_share_by_message; part of inbound_connects)"),
    ("confused_return_connects", pa.int64(), "count", "answered return calls to such callers (part of return_connects)"),
    ("prospects_dialled", pa.int64(), "count", "unique prospects dialled at least once"),
    ("prospects_reached", pa.int64(), "count", "unique prospects with at least one connect"),
    ("mean_attempts_to_reach", pa.float64(), "dials", "mean outbound attempts made to a prospect when first reached (NaN if none)"),
    ("prospects_exhausted", pa.int64(), "count", "prospects who ran out of attempts unreached"),
    ("prospects_remaining", pa.int64(), "count", "prospects still on the list at the end"),
    ("rep_hours", pa.float64(), "h", "paid rep hours = reps x paid shift hours x days"),
    ("dialling_hours", pa.float64(), "h", "rep time researching, waiting on setup, ringing and AMD (inside shifts)"),
    ("talking_hours", pa.float64(), "h", "rep time in conversations: connects, gatekeepers, callbacks, return calls"),
    ("voicemail_hours", pa.float64(), "h", "rep time recognising greetings and speaking live messages"),
    ("wrapup_hours", pa.float64(), "h", "rep time in after-call work"),
    ("idle_hours", pa.float64(), "h", "rep time with nothing to dial (list empty or not due)"),
    ("overtime_hours", pa.float64(), "h", "rep time on calls that ran past the end of a shift window (not paid, not in the split)"),
    ("mean_dial_level", pa.float64(), "lines", "mean lines dialled per batch (1 on a power dialer; adapts under predictive pacing)"),
    ("numbers_labelled", pa.int64(), "count", "caller-ID numbers that got a spam label at least once (0 unless caller_id.enabled)"),
    ("labelled_number_days", pa.int64(), "number-days", "days x numbers spent labelled spam"),
    ("emails_sent", pa.int64(), "count", "email touches sent by the cadence (channels.email)"),
    ("texts_sent", pa.int64(), "count", "text touches sent by the cadence (channels.text)"),
    ("email_replies", pa.int64(), "count", "prospects' replies to emails (each comes to a rep as a callback)"),
    ("text_replies", pa.int64(), "count", "prospects' replies to texts (each comes to a rep as a callback)"),
    ("callback_connects", pa.int64(), "count", "inbound connects after a call (message or missed call): inbound_connects minus the replies"),
    ("email_reply_connects", pa.int64(), "count", "inbound connects from email replies (part of inbound_connects)"),
    ("text_reply_connects", pa.int64(), "count", "inbound connects from text replies (part of inbound_connects)"),
    ("second_number_dials", pa.int64(), "count", "outbound dials to prospects' second numbers (part of dials)"),
    ("second_number_connects", pa.int64(), "count", "outbound connects on second numbers (part of outbound_connects)"),
    ("reply_calls_received", pa.int64(), "count", "calls from prospects replying to an email or a text (part of callbacks_received)"),
)

METRIC_NAMES = tuple(name for name, *_ in METRICS)
TIME_SPLIT = ("dialling_hours", "talking_hours", "voicemail_hours", "wrapup_hours", "idle_hours")

KEY_COLUMNS: tuple[tuple[str, pa.DataType, str, str], ...] = (
    ("strategy", pa.string(), "", "voicemail strategy name, as in the scenario"),
    ("replication", pa.int32(), "", "replication index 0..N-1"),
    ("seed", pa.int64(), "", "the run's base seed (streams are keyed by seed, replication, purpose)"),
)

SUMMARY_SCHEMA = pa.schema(
    [pa.field(name, dtype, metadata={"unit": unit, "description": desc})
     for name, dtype, unit, desc in KEY_COLUMNS + METRICS]
)

TIMELINE_SCHEMA = pa.schema([
    pa.field("strategy", pa.string()),
    pa.field("replication", pa.int32()),
    pa.field("day", pa.int32()),
    pa.field("hour", pa.int8()),
    pa.field("dials", pa.int64()),
    pa.field("connects", pa.int64()),
    pa.field("voicemails_left", pa.int64()),
    pa.field("live_answers", pa.int64()),
    pa.field("abandoned_calls", pa.int64()),
    pa.field("amd_hangups", pa.int64()),
    pa.field("dial_level", pa.float64()),
])

NUMBERS_SCHEMA = pa.schema([
    pa.field("strategy", pa.string()),
    pa.field("replication", pa.int32()),
    pa.field("day", pa.int32()),
    pa.field("number", pa.int32(), metadata={"description": "caller-ID number index (per_rep pools: rep r owns r*size..)"}),
    pa.field("dials", pa.int64()),
    pa.field("short_calls", pa.int64(), metadata={"description": "dials that ended without a conversation (spam-hazard input)"}),
    pa.field("labelled", pa.bool_(), metadata={"description": "labelled spam during this day"}),
    pa.field("labelled_today", pa.bool_(), metadata={"description": "got its label at the end of this day"}),
])

BREAKDOWN_SCHEMA = pa.schema([
    pa.field("strategy", pa.string()),
    pa.field("replication", pa.int32()),
    pa.field("dimension", pa.string(), metadata={"description": "segment, time_zone, rep_group or local_hour"}),
    pa.field("group", pa.string(), metadata={"description": "the segment's, time zone's or rep group's name in the scenario (rep groups: 'team' without team.groups)"}),
    pa.field("dials", pa.int64(), metadata={"unit": "count", "description": "outbound dials to this group's prospects"}),
    pa.field("outbound_connects", pa.int64(), metadata={"unit": "count", "description": "live answers by the right party"}),
    pa.field("inbound_connects", pa.int64(), metadata={"unit": "count", "description": "callbacks answered by a rep"}),
    pa.field("return_connects", pa.int64(), metadata={"unit": "count", "description": "return calls answered"}),
    pa.field("voicemails_left", pa.int64(), metadata={"unit": "count", "description": "messages left"}),
    pa.field("opt_outs", pa.int64(), metadata={"unit": "count", "description": "prospects who asked not to be called"}),
    pa.field("confused_inbound_connects", pa.int64(), metadata={"unit": "count", "description": "answered callbacks from confused or annoyed callers (part of inbound_connects)"}),
    pa.field("confused_return_connects", pa.int64(), metadata={"unit": "count", "description": "answered return calls to such callers (part of return_connects)"}),
    pa.field("rep_hours", pa.float64(), metadata={"unit": "h", "description": "rep groups: paid rep-hours (reps x days x the group's paid shift); null in other rows"}),
    pa.field("idle_hours", pa.float64(), metadata={"unit": "h", "description": "rep groups: paid hours the group's reps waited with nothing to dial; null in other rows"}),
    pa.field("overtime_hours", pa.float64(), metadata={"unit": "h", "description": "rep groups: unpaid hours on calls past the group's shift windows; null in other rows"}),
    pa.field("hour", pa.int8(), metadata={"unit": "", "description": "local_hour rows: the prospect's local hour (0-23) in the time zone named by group (dials and outbound_connects counted, other counters null); null in other rows"}),
])

CALLS_SCHEMA = pa.schema([
    pa.field("strategy", pa.dictionary(pa.int8(), pa.string())),
    pa.field("replication", pa.int32()),
    pa.field("time_s", pa.float64(), metadata={"unit": "s", "description": "dial start, seconds since day 0 00:00"}),
    pa.field("day", pa.int32()),
    pa.field("rep", pa.int32()),
    pa.field("line", pa.int16(), metadata={"description": "dialer line (0..k-1); -1 for inbound and return calls"}),
    pa.field("prospect", pa.int32()),
    pa.field("attempt", pa.int16(), metadata={"description": "1-based outbound attempt (for inbound/return: the attempt that caused it)"}),
    pa.field("direction", pa.dictionary(pa.int8(), pa.string())),
    pa.field("outcome", pa.dictionary(pa.int8(), pa.string())),
    pa.field("action", pa.dictionary(pa.int8(), pa.string()), metadata={"description": "message, silent or none"}),
    pa.field("message_id", pa.int16(), metadata={"description": "message index in the strategy, -1 if none"}),
    pa.field("ring_s", pa.float64(), metadata={"unit": "s"}),
    pa.field("talk_s", pa.float64(), metadata={"unit": "s"}),
    pa.field("rep_busy_s", pa.float64(), metadata={"unit": "s", "description": "rep time the call took, dialling included"}),
    pa.field("phone_number", pa.int8(), metadata={"unit": "", "description": "the prospect's number dialled: 1 first, 2 second (channels.second_number); 0 for inbound and return calls"}),
])
