/* One pass over a leaf's bytes: "definitely RFC 8785 canonical JSON", or "not sure".
 *
 * approvals.audit.record uses this to verify a leaf without parsing it into Python
 * objects (docs/audit.md, "Verifying"). The answer is deliberately one-sided: the
 * accepted bytes are a subset of RFC 8785 output that is easy to recognise, and
 * everything else (floats, characters beyond the BMP, escaped member names, deep
 * nesting, any doubt) is "not sure", which sends the leaf to the Python path
 * (approvals.audit.canonical.is_canonical) for the verdict and the error message.
 * A bug here can only make a canonical leaf slower, as long as every "canonical"
 * is right; tests/test_audit_leafcheck.py checks that against the Python path.
 *
 * Accepted, and why each is exactly what RFC 8785 writes for the parsed value:
 *   - no whitespace outside strings (RFC 8785 §3.2.1);
 *   - object member names in strictly increasing order of their UTF-8 bytes, which is
 *     UTF-16 code unit order (§3.2.3) because no character beyond the BMP is accepted
 *     anywhere and no name has an escape (compared raw, an escape would sort by its
 *     backslash); names with bytes >= 0xEE are also refused, to stay clear of the
 *     U+E000..U+FFFF vs surrogate question entirely. Strictly increasing also means
 *     no duplicate names;
 *   - strings of valid UTF-8 (no overlongs, no surrogates, nothing beyond U+FFFF),
 *     escaped as §3.2.2.2 (ECMAScript JSON.stringify): \" \\ \b \t \n \f \r, other
 *     controls below U+0020 as \u00xx in lowercase hex, nothing else escaped and no
 *     raw control character;
 *   - integers -?(0|[1-9][0-9]*) with |n| <= 2**53 - 1 (I-JSON, RFC 7493 §2.2), not -0:
 *     ECMAScript writes such a number as its plain decimal digits (§3.2.2.3). Any
 *     fraction or exponent is a float, whose ECMAScript form we do not check here;
 *   - true, false, null; nesting up to MAX_DEPTH.
 *
 * The input must be a bytes object: CPython keeps a NUL after its last byte, and NUL
 * is never accepted where it is read (a control character in a string, not a token
 * byte outside one), so the scanner stops on it without a length check per byte.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define MAX_DEPTH 64
/* 2**53 - 1, the largest I-JSON integer. */
#define MAX_SAFE_INTEGER 9007199254740991ULL

typedef struct {
    const unsigned char *p;
    const unsigned char *end; /* *end == 0 (bytes objects are NUL-terminated) */
} Scanner;

/* A string's raw bytes between its quotes, and what the caller needs to know of it. */
typedef struct {
    const unsigned char *start;
    Py_ssize_t len;
    int escaped;   /* holds a backslash escape */
    int high;      /* holds a byte >= 0xEE */
} Span;

/* 1 for bytes a string may hold as they are: printable ASCII but '"' and '\\'. */
static unsigned char PLAIN[256];

static void
init_tables(void)
{
    for (int c = 0x20; c < 0x80; c++) {
        PLAIN[c] = (c != '"' && c != '\\');
    }
}

/* Whether the 8 bytes at p are all PLAIN (SWAR: a byte's high bit marks it; false
 * alarms only after a real one, and then the byte loop decides). */
static int
plain8(const unsigned char *p)
{
    const uint64_t ones = 0x0101010101010101ULL;
    uint64_t v, quote, backslash;
    memcpy(&v, p, 8);
    quote = v ^ (ones * '"');
    backslash = v ^ (ones * '\\');
    return ((v | ((v - ones * 0x20) & ~v) | ((quote - ones) & ~quote)
             | ((backslash - ones) & ~backslash))
            & (ones * 0x80)) == 0;
}

static int
is_cont(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

static int
is_lower_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* At the opening quote. Returns 1 and fills *span if the string is canonical; 0 if
 * not sure. Leaves s->p after the closing quote. */
static int
scan_string(Scanner *s, Span *span)
{
    const unsigned char *p = s->p + 1;
    span->start = p;
    span->escaped = 0;
    span->high = 0;
    for (;;) {
        while (s->end - p >= 8 && plain8(p)) {
            p += 8;
        }
        while (PLAIN[*p]) {
            p++;
        }
        unsigned char c = *p;
        if (c == '"') {
            break;
        }
        if (c == '\\') {
            unsigned char e = p[1];
            span->escaped = 1;
            if (e == '"' || e == '\\' || e == 'b' || e == 't' || e == 'n' || e == 'f'
                || e == 'r') {
                p += 2;
                continue;
            }
            if (e != 'u' || p[2] != '0' || p[3] != '0' || (p[4] != '0' && p[4] != '1')
                || !is_lower_hex(p[5])) {
                return 0; /* \/, \u0041, uppercase hex, \ud800, ...: not this form */
            }
            unsigned int code = (unsigned int)((p[4] - '0') << 4)
                                | (unsigned int)(p[5] <= '9' ? p[5] - '0' : p[5] - 'a' + 10);
            if (code == 0x08 || code == 0x09 || code == 0x0A || code == 0x0C || code == 0x0D) {
                return 0; /* these have the short escapes above */
            }
            p += 6;
            continue;
        }
        if (c < 0x80) {
            return 0; /* a raw control character, or the NUL at the end */
        }
        /* UTF-8 (RFC 3629 §4), BMP only: F0..F4 would be beyond the BMP. */
        if (c >= 0xEE) {
            span->high = 1;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            if (!is_cont(p[1])) {
                return 0;
            }
            p += 2;
        }
        else if (c >= 0xE0 && c <= 0xEF) {
            unsigned char c1 = p[1];
            if (c == 0xE0 ? (c1 < 0xA0 || c1 > 0xBF)       /* overlong */
                : c == 0xED ? (c1 < 0x80 || c1 > 0x9F)     /* surrogates */
                : !is_cont(c1)) {
                return 0;
            }
            if (!is_cont(p[2])) {
                return 0;
            }
            p += 3;
        }
        else {
            return 0; /* C0, C1, a stray continuation byte, F0..FF */
        }
    }
    span->len = p - span->start;
    s->p = p + 1;
    return 1;
}

static int
scan_number(Scanner *s)
{
    const unsigned char *p = s->p;
    int negative = (*p == '-');
    if (negative) {
        p++;
    }
    const unsigned char *digits = p;
    unsigned long long n = 0;
    if (*p == '0') {
        p++;
    }
    else if (*p >= '1' && *p <= '9') {
        while (*p >= '0' && *p <= '9') {
            if (p - digits >= 16) {
                return 0; /* 17 digits or more: beyond 2**53 - 1 */
            }
            n = n * 10 + (unsigned long long)(*p - '0');
            p++;
        }
    }
    else {
        return 0;
    }
    if (*p == '.' || *p == 'e' || *p == 'E' || (*p >= '0' && *p <= '9')) {
        return 0; /* a float (or 0 followed by digits) */
    }
    if (n > MAX_SAFE_INTEGER || (negative && p - digits == 1 && *digits == '0')) {
        return 0; /* beyond I-JSON, or -0 */
    }
    s->p = p;
    return 1;
}

static int scan_value(Scanner *s, int depth);

/* What a caller wants of an object's members: the string values of these names. */
typedef struct {
    const char *name;
    Py_ssize_t name_len;
    int found;   /* 1: present with a string value, in *value */
    Span value;
} Want;

/* At '{'. */
static int
scan_object(Scanner *s, int depth, Want *wants, int n_wants)
{
    if (depth >= MAX_DEPTH) {
        return 0;
    }
    s->p++;
    if (*s->p == '}') {
        s->p++;
        return 1;
    }
    Span prev = {NULL, 0, 0, 0};
    for (;;) {
        Span name;
        if (*s->p != '"' || !scan_string(s, &name) || name.escaped || name.high) {
            return 0;
        }
        if (prev.start != NULL) {
            Py_ssize_t common = prev.len < name.len ? prev.len : name.len;
            int order = memcmp(prev.start, name.start, (size_t)common);
            if (order > 0 || (order == 0 && prev.len >= name.len)) {
                return 0; /* out of order, or a duplicate */
            }
        }
        prev = name;
        if (*s->p != ':') {
            return 0;
        }
        s->p++;
        Want *want = NULL;
        for (int i = 0; i < n_wants; i++) {
            if (wants[i].name_len == name.len
                && memcmp(wants[i].name, name.start, (size_t)name.len) == 0) {
                want = &wants[i];
            }
        }
        if (want != NULL && *s->p == '"') {
            if (!scan_string(s, &want->value)) {
                return 0;
            }
            want->found = 1;
        }
        else if (!scan_value(s, depth + 1)) {
            return 0;
        }
        if (*s->p == ',') {
            s->p++;
        }
        else if (*s->p == '}') {
            s->p++;
            return 1;
        }
        else {
            return 0;
        }
    }
}

static int
scan_literal(Scanner *s, const char *word, Py_ssize_t len)
{
    if (s->end - s->p < len || memcmp(s->p, word, (size_t)len) != 0) {
        return 0;
    }
    s->p += len;
    return 1;
}

static int
scan_value(Scanner *s, int depth)
{
    Span ignored;
    switch (*s->p) {
    case '{':
        return scan_object(s, depth, NULL, 0);
    case '[':
        if (depth >= MAX_DEPTH) {
            return 0;
        }
        s->p++;
        if (*s->p == ']') {
            s->p++;
            return 1;
        }
        for (;;) {
            if (!scan_value(s, depth + 1)) {
                return 0;
            }
            if (*s->p == ',') {
                s->p++;
            }
            else if (*s->p == ']') {
                s->p++;
                return 1;
            }
            else {
                return 0;
            }
        }
    case '"':
        return scan_string(s, &ignored);
    case 't':
        return scan_literal(s, "true", 4);
    case 'f':
        return scan_literal(s, "false", 5);
    case 'n':
        return scan_literal(s, "null", 4);
    default:
        return scan_number(s);
    }
}

static int
expect(Scanner *s, const char *text, Py_ssize_t len)
{
    return scan_literal(s, text, len);
}

static PyObject *
leafcheck_is_canonical(PyObject *module, PyObject *arg)
{
    (void)module;
    if (!PyBytes_Check(arg)) {
        Py_RETURN_FALSE;
    }
    Scanner s;
    s.p = (const unsigned char *)PyBytes_AS_STRING(arg);
    s.end = s.p + PyBytes_GET_SIZE(arg);
    if (scan_value(&s, 0) && s.p == s.end) {
        Py_RETURN_TRUE;
    }
    Py_RETURN_FALSE;
}

/* A wanted string as str, or NULL with no exception set if it is absent or escaped. */
static PyObject *
want_str(const Want *want)
{
    if (!want->found || want->value.escaped) {
        return NULL;
    }
    return PyUnicode_DecodeUTF8((const char *)want->value.start, want->value.len, "strict");
}

static PyObject *
leafcheck_leaf(PyObject *module, PyObject *arg)
{
    (void)module;
    if (!PyBytes_Check(arg)) {
        Py_RETURN_NONE;
    }
    const unsigned char *base = (const unsigned char *)PyBytes_AS_STRING(arg);
    Scanner s = {base, base + PyBytes_GET_SIZE(arg)};
    Want record[2] = {{"key_id", 6, 0, {0}}, {"log_origin", 10, 0, {0}}};
    Want sig[3] = {{"alg", 3, 0, {0}}, {"key_id", 6, 0, {0}}, {"value", 5, 0, {0}}};

    /* The leaf layout of approvals.audit.record: the canonical form of an object with
     * exactly "record" and "signature", the latter with exactly three string members. */
    if (!expect(&s, "{\"record\":", 10) || *s.p != '{') {
        Py_RETURN_NONE;
    }
    Py_ssize_t start = s.p - base;
    if (!scan_object(&s, 1, record, 2)) {
        Py_RETURN_NONE;
    }
    Py_ssize_t end = s.p - base;
    if (!expect(&s, ",\"signature\":{\"alg\":", 20) || *s.p != '"'
        || !scan_string(&s, &sig[0].value)
        || !expect(&s, ",\"key_id\":", 10) || *s.p != '"'
        || !scan_string(&s, &sig[1].value)
        || !expect(&s, ",\"value\":", 9) || *s.p != '"'
        || !scan_string(&s, &sig[2].value)
        || !expect(&s, "}}", 2) || s.p != s.end) {
        Py_RETURN_NONE;
    }
    sig[0].found = sig[1].found = sig[2].found = 1;

    PyObject *strs[5] = {NULL, NULL, NULL, NULL, NULL};
    const Want *from[5] = {&record[0], &record[1], &sig[0], &sig[1], &sig[2]};
    for (int i = 0; i < 5; i++) {
        strs[i] = want_str(from[i]);
        if (strs[i] == NULL) {
            for (int j = 0; j < i; j++) {
                Py_DECREF(strs[j]);
            }
            if (PyErr_Occurred()) {
                return NULL; /* cannot happen: the bytes were checked to be UTF-8 */
            }
            Py_RETURN_NONE;
        }
    }
    return Py_BuildValue("(nnNNNNN)", start, end, strs[0], strs[1], strs[2], strs[3], strs[4]);
}

/* is_plain(obj): whether obj is already a plain JSON value, built only of exact dict
 * (with str keys), list, str, int, bool, None and finite float, nested at most
 * MAX_DEPTH deep: what approvals.audit.canonical's walk takes as is. Signing asks this
 * before walking a record in Python (the walk copied every value to check it: ~100 us
 * of a ~240 us signature on the slow machine). False means "not sure": subclasses,
 * tuples, dates and anything else go to the Python walk, which converts or refuses
 * them with a message. Only type checks run on the borrowed items, no Python code, so
 * the containers cannot change underneath. */
static int is_plain_value(PyObject *obj, int depth)
{
    if (obj == Py_None || PyUnicode_CheckExact(obj) || PyLong_CheckExact(obj)
        || PyBool_Check(obj)) {
        return 1;
    }
    if (PyFloat_CheckExact(obj)) {
        return isfinite(PyFloat_AS_DOUBLE(obj));
    }
    if (depth >= MAX_DEPTH) {
        return 0;
    }
    if (PyDict_CheckExact(obj)) {
        Py_ssize_t pos = 0;
        PyObject *key, *value;
        while (PyDict_Next(obj, &pos, &key, &value)) {
            if (!PyUnicode_CheckExact(key) || !is_plain_value(value, depth + 1)) {
                return 0;
            }
        }
        return 1;
    }
    if (PyList_CheckExact(obj)) {
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(obj); i++) {
            if (!is_plain_value(PyList_GET_ITEM(obj, i), depth + 1)) {
                return 0;
            }
        }
        return 1;
    }
    return 0;
}

static PyObject *leafcheck_is_plain(PyObject *Py_UNUSED(module), PyObject *obj)
{
    return PyBool_FromLong(is_plain_value(obj, 0));
}

static PyMethodDef leafcheck_methods[] = {
    {"is_plain", leafcheck_is_plain, METH_O,
     "is_plain(obj, /)\n--\n\n"
     "True if obj is built only of exact dict (str keys), list, str, int, bool, None\n"
     "and finite float; False means not sure."},
    {"is_canonical", leafcheck_is_canonical, METH_O,
     "is_canonical(data, /)\n--\n\n"
     "True if the bytes are definitely RFC 8785 canonical JSON; False means not sure."},
    {"leaf", leafcheck_leaf, METH_O,
     "leaf(data, /)\n--\n\n"
     "For a definitely canonical decision-log leaf, (record_start, record_end,\n"
     "record key_id, record log_origin, signature alg, signature key_id, signature\n"
     "value); None when not sure."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef leafcheck_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "approvals.audit._leafcheck",
    .m_doc = "A one-pass, one-sided RFC 8785 canonical-form check of decision-log leaves.",
    .m_size = 0,
    .m_methods = leafcheck_methods,
};

PyMODINIT_FUNC
PyInit__leafcheck(void)
{
    init_tables();
    return PyModule_Create(&leafcheck_module);
}
