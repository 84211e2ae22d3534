/* Malformed safetensors files: each must fail with LAM_ERR_FORMAT and a
 * message naming the file, the tensor where there is one, and the rule —
 * from memory and from a file.  The table builds every file: an 8-byte
 * header length, the header text, then `data` zero bytes (or `raw` bytes). */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iotest.h"

#define W2 "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}"
#define ENTRY(name, dt, shape, b, e) "\"" name "\":{\"dtype\":\"" dt "\",\"shape\":" shape ",\"data_offsets\":[" b "," e "]}"

typedef struct bad_case {
    const char *what;
    const char *header; /* NULL: use raw */
    size_t header_len;
    size_t data;
    const char *raw;
    size_t raw_len;
    const char *expect;
} bad_case;

#define RAW(what, bytes, expect) {what, NULL, 0, 0, bytes, sizeof(bytes) - 1, expect}
#define HDR(what, header, data, expect) {what, header, sizeof(header) - 1, data, NULL, 0, expect}

static const bad_case cases[] = {
    /* sizes and header length */
    RAW("empty file", "", "file is empty"),
    RAW("5 bytes", "\x10\0\0\0\0", "file is 5 bytes, too small for the 8-byte header length"),
    RAW("header length past EOF", "\x64\0\0\0\0\0\0\0{}        ", "header length 100 runs past the end of the file (18 bytes)"),
    RAW("header length > 100 MB", "\x01\xe1\xf5\x05\0\0\0\0{}", "header length 100000001 exceeds the limit of 100000000"),
    RAW("header length UINT64_MAX", "\xff\xff\xff\xff\xff\xff\xff\xff{}", "header length 18446744073709551615 exceeds"),
    RAW("header length 0", "\0\0\0\0\0\0\0\0", "invalid JSON in header: at byte 0: unexpected end of text"),
    /* encoding */
    HDR("invalid UTF-8 byte", "{\"w\xff\":1}", 0, "invalid UTF-8 in header at byte 3"),
    HDR("overlong UTF-8", "{\"\xc0\xaf\":1}", 0, "invalid UTF-8 in header at byte 2"),
    HDR("UTF-8 encoded surrogate", "{\"\xed\xa0\x80\":1}", 0, "invalid UTF-8 in header"),
    HDR("truncated UTF-8 at end", "{}\xe2\x82", 0, "invalid UTF-8 in header at byte 2"),
    /* JSON */
    HDR("not JSON", "hello", 0, "invalid JSON in header: at byte 0: unexpected character"),
    HDR("truncated JSON", "{\"w\":{\"dtype\":\"F32\"", 0, "invalid JSON in header: at byte 19: expected ',' or '}'"),
    HDR("trailing comma", "{" W2 ",}", 8, "expected a string key in object"),
    HDR("trailing garbage", "{} x", 0, "trailing characters after the JSON value"),
    HDR("NUL padding instead of spaces", "{}\0\0\0\0\0\0", 0, "trailing characters"),
    HDR("top-level array", "[]      ", 0, "header is not a JSON object"),
    HDR("top-level string", "\"{}\"", 0, "header is not a JSON object"),
    HDR("deep nesting", "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
                        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", 0,
        "nesting too deep"),
    HDR("duplicate tensor name", "{" W2 "," W2 "}", 8, "duplicate key \"w\" in object"),
    HDR("duplicate field", "{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
        "duplicate key \"dtype\""),
    HDR("lone high surrogate", "{\"\\ud800\":1}", 0, "lone high surrogate in \\u escape"),
    HDR("lone low surrogate", "{\"\\udc00x\":1}", 0, "lone low surrogate"),
    HDR("raw control character", "{\"a\x01\":1}", 0, "control character in string"),
    HDR("invalid escape", "{\"a\\x\":1}", 0, "invalid escape in string"),
    HDR("leading zero", "{" ENTRY("w", "F32", "[2]", "00", "8") "}", 8, "leading zero"),
    HDR("bad literal", "{\"__metadata__\":nul}", 0, "invalid literal"),
    /* __metadata__ */
    HDR("metadata is an array", "{\"__metadata__\":[]," W2 "}", 8,
        "\"__metadata__\" must be an object of string to string, not an array"),
    HDR("metadata value is a number", "{\"__metadata__\":{\"format\":1}," W2 "}", 8,
        "\"__metadata__\" must map strings to strings, but key \"format\" has a number value"),
    HDR("metadata value is an object", "{\"__metadata__\":{\"a\":{}}}", 0, "key \"a\" has an object value"),
    /* tensor entries */
    HDR("entry not an object", "{\"w\":[1]}", 0, "tensor \"w\": entry is not a JSON object"),
    HDR("missing dtype", "{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "tensor \"w\": missing field \"dtype\""),
    HDR("missing shape", "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, "tensor \"w\": missing field \"shape\""),
    HDR("missing data_offsets", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "missing field \"data_offsets\""),
    HDR("extra field", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"foo\":1}}", 8,
        "tensor \"w\": unexpected field \"foo\""),
    HDR("unknown dtype", "{" ENTRY("w", "F17", "[2]", "0", "8") "}", 8, "tensor \"w\": unknown dtype \"F17\""),
    HDR("dtype is a number", "{\"w\":{\"dtype\":32,\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "\"dtype\" is not a string"),
    HDR("shape not an array", "{" ENTRY("w", "F32", "2", "0", "8") "}", 8, "\"shape\" is not an array"),
    HDR("negative shape", "{" ENTRY("w", "F32", "[-2]", "0", "8") "}", 8,
        "\"shape\" element 0 is not a non-negative integer below 2^63: -2"),
    HDR("fractional shape", "{" ENTRY("w", "F32", "[1,2.0]", "0", "8") "}", 8, "\"shape\" element 1 is not a non-negative integer"),
    HDR("shape dim 2^63", "{" ENTRY("w", "F32", "[9223372036854775808]", "0", "8") "}", 8, "below 2^63"),
    HDR("shape dim beyond u64", "{" ENTRY("w", "F32", "[99999999999999999999999]", "0", "8") "}", 8, "below 2^63"),
    HDR("shape product overflow", "{" ENTRY("w", "F32", "[4294967296,4294967296,2]", "0", "8") "}", 8,
        "shape [4294967296, 4294967296, 2] overflows"),
    HDR("byte size overflow", "{" ENTRY("w", "F64", "[2305843009213693952]", "0", "8") "}", 8,
        "F64 [2305843009213693952] overflows"),
    HDR("sub-byte size", "{" ENTRY("w", "F4", "[3]", "0", "1") "}", 1, "F4 [3] is not a whole number of bytes"),
    HDR("offsets: three numbers", "{" ENTRY("w", "F32", "[2]", "0,0", "8") "}", 8, "\"data_offsets\" must be [begin, end]"),
    HDR("offsets: negative", "{" ENTRY("w", "F32", "[2]", "-8", "0") "}", 8, "\"data_offsets\" must be [begin, end]"),
    HDR("offsets: begin > end", "{" ENTRY("w", "F32", "[2]", "8", "0") "}", 8, "data_offsets [8, 0]: begin is after end"),
    HDR("size mismatch", "{" ENTRY("0.weight", "F32", "[5,10]", "0", "100") "}", 100,
        "tensor \"0.weight\": data_offsets [0, 100] span 100 bytes but F32 [5, 10] needs 200"),
    HDR("offsets past EOF", "{" W2 "}", 4, "tensor \"w\": data_offsets [0, 8] extend past the end of the file"),
    HDR("overlapping tensors", "{" ENTRY("a", "F32", "[2]", "0", "8") "," ENTRY("b", "F32", "[2]", "4", "12") "}", 12,
        "tensor \"b\": data_offsets [4, 12] overlap tensor \"a\", which ends at 8"),
    HDR("gap between tensors", "{" ENTRY("a", "F32", "[2]", "0", "8") "," ENTRY("b", "F32", "[2]", "12", "20") "}", 20,
        "tensor \"b\": data_offsets [12, 20] leave a gap after tensor \"a\""),
    HDR("not starting at 0", "{" ENTRY("a", "F32", "[2]", "4", "12") "}", 12, "must start at offset 0"),
    HDR("trailing bytes", "{" W2 "}", 12, "4 trailing bytes after the last tensor"),
    HDR("data but no tensors", "{}", 4, "4 trailing bytes"),
    /* valid safetensors that lamina cannot hold */
    HDR("NUL in a tensor name", "{" ENTRY("a\\u0000b", "F32", "[2]", "0", "8") "}", 8, "names containing NUL are not supported"),
    HDR("U8 tensor", "{" ENTRY("mask", "U8", "[2]", "0", "2") "}", 2, "tensor \"mask\": dtype U8 is not supported"),
};

#define NCASES (sizeof cases / sizeof cases[0])

static unsigned char *build(const bad_case *c, size_t *len)
{
    if (!c->header) {
        unsigned char *b = malloc(c->raw_len + 1);
        memcpy(b, c->raw, c->raw_len);
        *len = c->raw_len;
        return b;
    }
    size_t h = c->header_len;
    *len = 8 + h + c->data;
    unsigned char *b = calloc(1, *len);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((uint64_t)h >> (8 * i));
    memcpy(b + 8, c->header, h);
    return b;
}

Test(safetensors_bad, at_least_30_cases)
{
    cr_expect_geq(NCASES, 30);
    io_leak_check();
}

Test(safetensors_bad, from_memory)
{
    for (size_t i = 0; i < NCASES; i++) {
        size_t len;
        unsigned char *b = build(&cases[i], &len);
        lam_state_dict *sd = (lam_state_dict *)1;
        lam_status st = lam_safetensors_parse(len ? b : NULL, len, &sd);
        cr_expect_eq(st, LAM_ERR_FORMAT, "%s: status %d (%s)", cases[i].what, st, lam_last_error());
        cr_expect_null(sd, "%s: *out reset", cases[i].what);
        cr_expect(strncmp(lam_last_error(), "<memory>: ", 10) == 0 && strstr(lam_last_error(), cases[i].expect),
                  "%s:\n  got      %s\n  expected ...%s", cases[i].what, lam_last_error(), cases[i].expect);
        free(b);
    }
    io_leak_check();
}

Test(safetensors_bad, from_file)
{
    char path[1024], prefix[1100];
    for (size_t i = 0; i < NCASES; i++) {
        size_t len;
        unsigned char *b = build(&cases[i], &len);
        lam_state_dict *sd = (lam_state_dict *)1;
        snprintf(path, sizeof path, "%s", io_tmp("bad.safetensors"));
        snprintf(prefix, sizeof prefix, "%s: ", path);
        io_write(path, b, len);
        lam_status st = lam_safetensors_load(path, &sd);
        cr_expect_eq(st, LAM_ERR_FORMAT, "%s: status %d (%s)", cases[i].what, st, lam_last_error());
        cr_expect_null(sd);
        cr_expect(strncmp(lam_last_error(), prefix, strlen(prefix)) == 0 && strstr(lam_last_error(), cases[i].expect),
                  "%s:\n  got      %s\n  expected %s...%s", cases[i].what, lam_last_error(), prefix, cases[i].expect);
        free(b);
    }
    io_leak_check();
}

/* Every prefix of a valid file is malformed; none may crash or leak. */
Test(safetensors_bad, every_truncation_of_a_valid_file)
{
    size_t len;
    unsigned char *b = io_read(io_fixture("pattern.safetensors"), &len);
    for (size_t n = 0; n < len; n++) {
        lam_state_dict *sd = NULL;
        unsigned char *copy = n ? malloc(n) : NULL; /* exact size: ASan sees overreads */
        if (n)
            memcpy(copy, b, n);
        cr_expect_eq(lam_safetensors_parse(copy, n, &sd), LAM_ERR_FORMAT, "prefix %zu", n);
        free(copy);
    }
    free(b);
    io_leak_check();
}
