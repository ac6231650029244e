/*
 * limits.h - every bound Hearth enforces on input, in one place.
 *
 * Exceeding one of these yields a clear error response (the code is named
 * next to each limit), never a truncation or a crash.
 */
#ifndef HEARTH_LIMITS_H
#define HEARTH_LIMITS_H

#define HL_MAX_BODY        (1024u * 1024u) /* request body bytes -> 4000 (HTTP 413 is not oneM2M) */
#define HL_MAX_HEADER      8192u           /* one header value bytes -> 4000 */
#define HL_MAX_URL         4096u           /* path + query bytes -> 4000 */
#define HL_MAX_QUERY_ARGS  64u             /* query parameters -> 4000 */
#define HL_MAX_JSON_DEPTH  32u             /* JSON nesting -> 4000 */
#define HL_MAX_ID          1024u           /* to / fr / rqi / ri length -> 4000 */
#define HL_MAX_RN          255u            /* resource name length -> 4000 */
#define HL_MAX_LIST        256u            /* entries in a list attribute (lbl, nu, mid, acor...) -> 4000 */
#define HL_MAX_FILTER_VALS 32u             /* values per filter condition (ty, lbl, cty) -> 4000 */
#define HL_MAX_TREE_DEPTH  64u             /* resource tree depth -> 4000 */
#define HL_MAX_RESULTS     10000u          /* discovery / rcn=4 entries without lim */
#define HL_MAX_GROUP_MEMBERS 1000u         /* absolute cap on mnm */
#define HL_NOTIFY_QUEUE    4096u           /* pending notifications; overflow drops oldest, logged */
#define HL_NOTIFY_TIMEOUT_MS 3000L         /* one outgoing notification attempt */
#define HL_FORWARD_TIMEOUT_MS 10000L       /* one forwarded request to another CSE */
#define HL_FORWARD_DOWN_TIMEOUT_MS 1000L   /* ... to a CSE the last link check found silent */
#define HL_VERIFY_TIMEOUT_MS 3000L         /* subscription verification request */
#define HL_HTTP_CONN_LIMIT 1000u           /* concurrent HTTP connections; above -> refused */
#define HL_HTTP_CONN_TIMEOUT_S 30u         /* idle HTTP connection */
#define HL_MQTT_QUEUE      256u            /* queued MQTT requests per worker; above -> 5000 */

#endif
