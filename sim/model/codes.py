"""The model's small vocabularies: prospect and rep states, rep-time categories,
line kinds, dial outcomes and counters, as integer codes.

One place for them, shared by the kernel (which works in integers) and the campaign
(which turns them into metrics); the call log shows outcomes by ``OUTCOME_NAMES``.
"""

DAY_S = 86400.0

# prospect status
ACTIVE, REACHED, OPTED_OUT, BAD_NUMBER, EXHAUSTED = range(5)
# rep state
OFF, IDLE, DIALLING, BUSY = range(4)
# rep-time categories
T_DIALLING, T_TALKING, T_VOICEMAIL, T_WRAPUP, T_IDLE = range(5)
TIME_CATEGORIES = ("dialling", "talking", "voicemail", "wrapup", "idle")

# what a line resolves to before the rep is involved
L_BAD, L_HUMAN, L_AMD_HANGUP, L_MACHINE_TO_REP, L_MACHINE_DETECTED, L_NO_ANSWER = range(6)

# how a dial ends (the call log's `outcome` values, in this order)
(O_BAD, O_CONNECT, O_GATEKEEPER, O_ABANDONED, O_AMD_HANGUP, O_VM_LEFT, O_VM_SILENT,
 O_NO_ANSWER, O_CANCELLED) = range(9)
OUTCOME_NAMES = ("bad_number", "connect", "gatekeeper", "abandoned", "amd_hangup",
                 "voicemail_left", "voicemail_silent", "no_answer", "cancelled")

# counters the kernel keeps (the others are derived in Campaign.metrics)
COUNTED = ("bad_numbers", "outbound_connects", "gatekeeper_answers", "abandoned_calls",
           "amd_hangups", "voicemails_heard", "silent_hangups", "no_answers",
           "cancelled_dials", "callbacks_received", "inbound_connects", "callbacks_missed",
           "callback_messages", "return_calls", "return_connects", "opt_outs",
           "callbacks_held", "callbacks_after_campaign", "recorded_drops",
           "confused_inbound_connects", "confused_return_connects",
           # the other channels (scenario.channels)
           "emails_sent", "texts_sent", "email_replies", "text_replies",
           "email_reply_connects", "text_reply_connects", "second_number_dials",
           "second_number_connects", "reply_calls_received")
(N_BAD, N_CONNECTS, N_GATEKEEPERS, N_ABANDONED, N_AMD_HANGUPS, N_HEARD, N_SILENT,
 N_NO_ANSWER, N_CANCELLED, N_CB_RECEIVED, N_INBOUND, N_CB_MISSED, N_CB_MESSAGES,
 N_RETURN_CALLS, N_RETURN_CONNECTS, N_OPT_OUTS, N_CB_HELD, N_CB_AFTER,
 N_RECORDED_DROPS, N_CONFUSED_INBOUND, N_CONFUSED_RETURN, N_EMAILS, N_TEXTS, N_EMAIL_REPLIES,
 N_TEXT_REPLIES, N_EMAIL_CONNECTS, N_TEXT_CONNECTS, N_SECOND_DIALS,
 N_SECOND_CONNECTS, N_REPLY_CALLS) = range(len(COUNTED))
# the channel an inbound call comes from: a callback (after a call), or a reply
CH_CALL, CH_EMAIL, CH_TEXT = range(3)
# every counter of the summary, in its documented order
COUNTERS = (
    "dials", "bad_numbers", "live_answers", "outbound_connects", "gatekeeper_answers",
    "abandoned_calls", "amd_hangups", "voicemails_reached",
    "voicemails_left", "voicemails_heard", "silent_hangups", "no_answers", "cancelled_dials",
    "silent_misses", "callbacks_received", "inbound_connects", "callbacks_missed",
    "callback_messages", "return_calls", "return_connects", "opt_outs",
    "callbacks_held", "callbacks_after_campaign", "recorded_drops",
    "confused_inbound_connects", "confused_return_connects",
    "emails_sent", "texts_sent", "email_replies", "text_replies",
    "callback_connects", "email_reply_connects", "text_reply_connects",
    "second_number_dials", "second_number_connects", "reply_calls_received",
)

# counted per segment and per time zone (breakdown.parquet), in this order
BROKEN_DOWN = ("dials", "outbound_connects", "inbound_connects", "return_connects",
               "voicemails_left", "opt_outs", "confused_inbound_connects",
               "confused_return_connects")
(B_DIALS, B_OUTBOUND, B_INBOUND, B_RETURN, B_VM_LEFT, B_OPT_OUTS, B_CONFUSED_INBOUND,
 B_CONFUSED_RETURN) = range(len(BROKEN_DOWN))
