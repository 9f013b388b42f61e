/*
 * tmk_dump: prints a trace exactly as `tracemark dump PATH` does (events on stdout,
 * diagnostics on stderr), through the C API only. Every field is also looked up by name and
 * must be the same value, so field access by name is checked on every event.
 *
 * Integers, booleans, enumerations, blobs and the structure of arrays and structs are
 * formatted here; strings and floats through tmk_value_format, because tracemark prints them
 * as Rust does (Debug escaping of UTF-8 with replacement characters, shortest round-trip
 * floats), which printf cannot reproduce.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tracemark.h"

static void fail(const char *what) {
    fprintf(stderr, "tmk_dump: %s: %s\n", what, tmk_last_error());
    exit(3);
}

static void print_str(FILE *out, tmk_str text) {
    if (text.len > 0) {
        fwrite(text.ptr, 1, text.len, out);
    }
}

/* A name as a NUL-terminated string, for the by-name lookups. */
static char *terminated(tmk_str text) {
    char *copy = malloc(text.len + 1);
    if (copy == NULL) {
        fail("out of memory");
    }
    memcpy(copy, text.ptr, text.len);
    copy[text.len] = '\0';
    return copy;
}

static void print_formatted(FILE *out, const tmk_value *value) {
    char small[256];
    size_t len = tmk_value_format(value, small, sizeof small);
    if (len < sizeof small) {
        fwrite(small, 1, len, out);
        return;
    }
    char *large = malloc(len + 1);
    if (large == NULL) {
        fail("out of memory");
    }
    tmk_value_format(value, large, len + 1);
    fwrite(large, 1, len, out);
    free(large);
}

static void print_integer(FILE *out, uint64_t bits, int is_signed, tmk_hint hint) {
    switch (hint) {
    case TMK_HINT_HEX:
        fprintf(out, "0x%" PRIx64, bits);
        return;
    case TMK_HINT_OCTAL:
        if (bits == 0) {
            fputs("0", out);
        } else {
            fprintf(out, "0%" PRIo64, bits);
        }
        return;
    case TMK_HINT_CHAR:
        if (bits > 0xff) {
            fprintf(out, "%" PRIu64, bits);
        } else if ((bits >= 0x21 && bits <= 0x7e) || bits == ' ') {
            fprintf(out, "'%c'", (char)bits);
        } else {
            fprintf(out, "'\\x%02" PRIx64 "'", bits);
        }
        return;
    case TMK_HINT_NATURAL:
        break;
    }
    if (is_signed) {
        fprintf(out, "%" PRId64, (int64_t)bits);
    } else {
        fprintf(out, "%" PRIu64, bits);
    }
}

static void print_value(FILE *out, const tmk_value *value);

static void print_members(FILE *out, const tmk_value *value) {
    for (size_t index = 0; index < value->count; index++) {
        tmk_value member, by_name;
        if (tmk_value_member_at(value, index, &member) != TMK_STATUS_OK) {
            fail("tmk_value_member_at");
        }
        char *name = terminated(member.name);
        if (tmk_value_member(value, name, &by_name) != TMK_STATUS_OK || by_name.node != member.node) {
            fail("tmk_value_member");
        }
        free(name);
        if (index > 0) {
            fputs(", ", out);
        }
        print_str(out, member.name);
        fputs(" = ", out);
        print_value(out, &member);
    }
}

static void print_value(FILE *out, const tmk_value *value) {
    switch (value->kind) {
    case TMK_VALUE_KIND_BOOL:
        fputs(value->boolean ? "true" : "false", out);
        break;
    case TMK_VALUE_KIND_UNSIGNED:
        print_integer(out, value->unsigned_value, 0, value->hint);
        break;
    case TMK_VALUE_KIND_SIGNED:
        print_integer(out, (uint64_t)value->signed_value, 1, value->hint);
        break;
    case TMK_VALUE_KIND_F32:
    case TMK_VALUE_KIND_F64:
    case TMK_VALUE_KIND_STRING:
        print_formatted(out, value);
        break;
    case TMK_VALUE_KIND_BLOB:
        fprintf(out, "<%zu bytes: ", value->bytes.len);
        for (size_t index = 0; index < value->bytes.len; index++) {
            fprintf(out, "%02x", (unsigned char)value->bytes.ptr[index]);
        }
        fputs(">", out);
        break;
    case TMK_VALUE_KIND_ARRAY:
    case TMK_VALUE_KIND_SEQUENCE:
        fputs("[", out);
        for (size_t index = 0; index < value->count; index++) {
            tmk_value element;
            if (tmk_value_element(value, index, &element) != TMK_STATUS_OK) {
                fail("tmk_value_element");
            }
            if (index > 0) {
                fputs(", ", out);
            }
            print_value(out, &element);
        }
        fputs("]", out);
        break;
    case TMK_VALUE_KIND_ENUM:
        if (value->label.ptr != NULL) {
            print_str(out, value->label);
            fputs(" (", out);
        }
        if (value->enum_signed) {
            fprintf(out, "%" PRId64, value->signed_value);
        } else {
            fprintf(out, "%" PRIu64, value->unsigned_value);
        }
        if (value->label.ptr != NULL) {
            fputs(")", out);
        }
        break;
    case TMK_VALUE_KIND_STRUCT:
        fputs("{ ", out);
        print_members(out, value);
        fputs(" }", out);
        break;
    }
}

/* HH:MM:SS.nnnnnnnnn of UTC, as tracemark prints wall-clock time. */
static void print_time(FILE *out, int64_t ns) {
    int64_t seconds = ns / 1000000000, fraction = ns % 1000000000;
    if (fraction < 0) {
        fraction += 1000000000;
        seconds -= 1;
    }
    int64_t of_day = seconds % 86400;
    if (of_day < 0) {
        of_day += 86400;
    }
    fprintf(out, "[%02" PRId64 ":%02" PRId64 ":%02" PRId64 ".%09" PRId64 "]", of_day / 3600, of_day / 60 % 60,
            of_day % 60, fraction);
}

static void print_event(FILE *out, tmk_cursor *cursor) {
    int64_t ns;
    uint32_t instance;
    if (tmk_event_unix_ns(cursor, &ns)) {
        print_time(out, ns);
    } else {
        fprintf(out, "[%" PRIu64 "]", tmk_event_timestamp(cursor));
    }
    if (!tmk_event_stream(cursor, NULL, &instance)) {
        fail("tmk_event_stream");
    }
    fprintf(out, " cpu %" PRIu32 " ", instance);
    print_str(out, tmk_event_name(cursor));
    fputs(": { ", out);
    size_t count = tmk_event_field_count(cursor);
    for (size_t index = 0; index < count; index++) {
        tmk_value field, by_name;
        if (tmk_event_field_at(cursor, index, &field) != TMK_STATUS_OK) {
            fail("tmk_event_field_at");
        }
        char *name = terminated(field.name);
        if (tmk_event_field(cursor, name, &by_name) != TMK_STATUS_OK || by_name.node != field.node ||
            by_name.hint != field.hint) {
            fail("tmk_event_field");
        }
        free(name);
        if (index > 0) {
            fputs(", ", out);
        }
        print_str(out, field.name);
        fputs(" = ", out);
        print_value(out, &field);
    }
    fputs(" }\n", out);
}

/* `file@0xOFFSET [stream C/I] [seq N]: message [§S]`, as a diagnostic displays. */
static void print_diagnostic(FILE *out, tmk_cursor *cursor) {
    uint32_t class, instance;
    uint64_t sequence;
    fputs("warning: ", out);
    print_str(out, tmk_diagnostic_file(cursor));
    fprintf(out, "@0x%" PRIx64, tmk_diagnostic_offset(cursor));
    int has_stream = tmk_diagnostic_stream(cursor, &class, &instance);
    int has_sequence = tmk_diagnostic_sequence(cursor, &sequence);
    if (has_stream) {
        fprintf(out, " stream %" PRIu32 "/%" PRIu32, class, instance);
    }
    if (has_sequence) {
        fprintf(out, " seq %" PRIu64, sequence);
    }
    fputs(": ", out);
    print_str(out, tmk_diagnostic_message(cursor));
    fputs(" [\xc2\xa7", out);
    print_str(out, tmk_diagnostic_section(cursor));
    fputs("]\n", out);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s TRACE\n", argv[0]);
        return 2;
    }
    tmk_trace *trace;
    if (tmk_trace_open(argv[1], &trace) != TMK_STATUS_OK) {
        fprintf(stderr, "tracemark: %s\n", tmk_last_error());
        return 2;
    }
    tmk_cursor *cursor = tmk_cursor_new(trace);
    /* The cursor keeps the trace's files alive: the handle can be closed now. */
    tmk_trace_close(trace);
    size_t diagnostics = 0;
    for (tmk_item_kind kind; (kind = tmk_cursor_next(cursor)) != TMK_ITEM_KIND_END;) {
        if (kind == TMK_ITEM_KIND_EVENT) {
            print_event(stdout, cursor);
        } else {
            diagnostics++;
            fflush(stdout);
            print_diagnostic(stderr, cursor);
        }
    }
    tmk_cursor_free(cursor);
    if (diagnostics > 0) {
        fprintf(stderr, "tracemark: %zu diagnostics\n", diagnostics);
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
