/* lib/json: structure, commas, both layouts, escaping and misuse. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"

static struct buf out;
static struct json j;

static int setup(void **state)
{
	(void)state;
	memset(&out, 0, sizeof(out));
	json_init(&j, &out, 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	buf_free(&out);
	return 0;
}

/* A document with every kind of value, nested both ways. */
static void write_sample(void)
{
	json_object_begin(&j);
	json_key(&j, "name");
	json_string(&j, "lb-0");
	json_key(&j, "up");
	json_bool(&j, true);
	json_key(&j, "down");
	json_bool(&j, false);
	json_key(&j, "none");
	json_null(&j);
	json_key(&j, "n");
	json_int(&j, -7);
	json_key(&j, "targets");
	json_array_begin(&j);
	json_uint(&j, 1);
	json_object_begin(&j);
	json_key(&j, "w");
	json_double(&j, 0.5);
	json_object_end(&j);
	json_array_begin(&j);
	json_array_end(&j);
	json_array_end(&j);
	json_key(&j, "empty");
	json_object_begin(&j);
	json_object_end(&j);
	json_object_end(&j);
}

static void test_compact(void **state)
{
	(void)state;
	write_sample();
	assert_int_equal(json_finish(&j), 0);
	assert_string_equal(out.data,
			    "{\"name\":\"lb-0\",\"up\":true,\"down\":false,"
			    "\"none\":null,\"n\":-7,"
			    "\"targets\":[1,{\"w\":0.5},[]],\"empty\":{}}");
	assert_null(strchr(out.data, '\n'));
}

static void test_pretty(void **state)
{
	(void)state;
	json_init(&j, &out, JSON_PRETTY);
	write_sample();
	assert_int_equal(json_finish(&j), 0);
	assert_string_equal(out.data, "{\n"
				      "  \"name\": \"lb-0\",\n"
				      "  \"up\": true,\n"
				      "  \"down\": false,\n"
				      "  \"none\": null,\n"
				      "  \"n\": -7,\n"
				      "  \"targets\": [\n"
				      "    1,\n"
				      "    {\n"
				      "      \"w\": 0.5\n"
				      "    },\n"
				      "    []\n"
				      "  ],\n"
				      "  \"empty\": {}\n"
				      "}");
}

static void test_scalar_top_level(void **state)
{
	(void)state;
	assert_int_equal(json_string(&j, "x"), 0);
	assert_int_equal(json_finish(&j), 0);
	assert_string_equal(out.data, "\"x\"");
	/* A second top-level value is refused. */
	assert_int_equal(json_int(&j, 1), -EINVAL);
	assert_int_equal(json_finish(&j), -EINVAL);
}

static void test_numbers(void **state)
{
	(void)state;
	json_array_begin(&j);
	json_int(&j, INT64_MIN);
	json_int(&j, INT64_MAX);
	json_uint(&j, UINT64_MAX);
	json_double(&j, 0.1);
	json_double(&j, 12345678);
	json_double(&j, 1e300);
	json_double(&j, -1.5e-7);
	json_double(&j, NAN);
	json_double(&j, INFINITY);
	json_double(&j, -INFINITY);
	json_array_end(&j);
	assert_int_equal(json_finish(&j), 0);
	assert_string_equal(out.data,
			    "[-9223372036854775808,9223372036854775807,"
			    "18446744073709551615,0.1,12345678,1e+300,"
			    "-1.5e-07,null,null,null]");
}

static void test_null_string(void **state)
{
	(void)state;
	json_object_begin(&j);
	json_key(&j, "s");
	json_string(&j, NULL);
	json_object_end(&j);
	assert_int_equal(json_finish(&j), 0);
	assert_string_equal(out.data, "{\"s\":null}");
}

static void test_control_chars(void **state)
{
	char all[32];
	char want[32 * 6 + 3], *w = want;
	(void)state;

	for (int c = 0; c < 32; c++)
		all[c] = (char)c;
	*w++ = '"';
	for (int c = 0; c < 32; c++) {
		const char *named = c == '\b'	? "\\b"
				    : c == '\f' ? "\\f"
				    : c == '\n' ? "\\n"
				    : c == '\r' ? "\\r"
				    : c == '\t' ? "\\t"
						: NULL;
		if (named)
			w += sprintf(w, "%s", named);
		else
			w += sprintf(w, "\\u%04x", c);
	}
	*w++ = '"';
	*w = '\0';

	assert_int_equal(json_string_len(&j, all, sizeof(all)), 0);
	assert_int_equal(json_finish(&j), 0);
	assert_string_equal(out.data, want);
	assert_non_null(strstr(out.data, "\\u0000\\u0001"));
	assert_non_null(strstr(out.data, "\\u001f"));
}

static void test_quote_backslash(void **state)
{
	(void)state;
	json_object_begin(&j);
	json_key(&j, "k\"e\\y");
	json_string(&j, "a\"b\\c/d\x7f");
	json_object_end(&j);
	assert_int_equal(json_finish(&j), 0);
	assert_string_equal(out.data,
			    "{\"k\\\"e\\\\y\":\"a\\\"b\\\\c/d\x7f\"}");
}

static void test_utf8_passthrough(void **state)
{
	/* 2, 3 and 4 byte forms, and the edges of the valid ranges. */
	const char *valid = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e "
			    "\xc2\x80 \xdf\xbf \xe0\xa0\x80 \xed\x9f\xbf "
			    "\xee\x80\x80 \xef\xbf\xbf \xf0\x90\x80\x80 "
			    "\xf4\x8f\xbf\xbf";
	(void)state;
	assert_int_equal(json_string(&j, valid), 0);
	assert_int_equal(out.len, strlen(valid) + 2);
	assert_memory_equal(out.data + 1, valid, strlen(valid));
}

static void check_string(const char *in, size_t n, const char *want)
{
	struct buf b = {0};
	struct json w;
	json_init(&w, &b, 0);
	assert_int_equal(json_string_len(&w, in, n), 0);
	assert_string_equal(b.data, want);
	buf_free(&b);
}

#define FFFD "\xef\xbf\xbd"

static void test_utf8_invalid(void **state)
{
	(void)state;
	check_string("\x80", 1, "\"" FFFD "\""); /* stray continuation */
	check_string("\xc0\xaf", 2, "\"" FFFD FFFD "\""); /* overlong '/' */
	check_string("\xc1\xbf", 2, "\"" FFFD FFFD "\""); /* overlong */
	check_string("\xe0\x9f\xbf", 3, "\"" FFFD FFFD FFFD "\"");
	check_string("\xed\xa0\x80", 3, "\"" FFFD FFFD FFFD "\""); /* D800 */
	check_string("\xf0\x8f\xbf\xbf", 4, "\"" FFFD FFFD FFFD FFFD "\"");
	check_string("\xf4\x90\x80\x80", 4, "\"" FFFD FFFD FFFD FFFD "\"");
	check_string("\xf5\x80\x80\x80", 4, "\"" FFFD FFFD FFFD FFFD "\"");
	check_string("\xff", 1, "\"" FFFD "\"");
	/* Truncated at the end, and cut by an ASCII byte. */
	check_string("a\xe2\x82", 3, "\"a" FFFD FFFD "\"");
	check_string("\xe2\x82z", 3, "\"" FFFD FFFD "z\"");
	check_string("\xf0\x9d\x84", 3, "\"" FFFD FFFD FFFD "\"");
	/* Valid text around an invalid byte survives. */
	check_string("\xc3\xa9\x80\xc3\xa9", 5, "\"\xc3\xa9" FFFD "\xc3\xa9\"");
}

static void test_misuse(void **state)
{
	(void)state;
	/* A value in an object without a key; sticky afterwards. */
	json_object_begin(&j);
	assert_int_equal(json_int(&j, 1), -EINVAL);
	assert_int_equal(json_key(&j, "k"), -EINVAL);
	assert_int_equal(json_finish(&j), -EINVAL);

	struct buf b = {0};
	struct json w;
	json_init(&w, &b, 0);
	json_array_begin(&w);
	assert_int_equal(json_key(&w, "k"), -EINVAL); /* key in an array */
	buf_free(&b);

	json_init(&w, &b, 0);
	json_array_begin(&w);
	assert_int_equal(json_object_end(&w), -EINVAL); /* wrong end */
	buf_free(&b);

	json_init(&w, &b, 0);
	assert_int_equal(json_array_end(&w), -EINVAL); /* nothing open */
	buf_free(&b);

	json_init(&w, &b, 0);
	json_object_begin(&w);
	json_key(&w, "a");
	assert_int_equal(json_key(&w, "b"), -EINVAL); /* two keys in a row */
	buf_free(&b);

	json_init(&w, &b, 0);
	json_object_begin(&w);
	json_key(&w, "a");
	assert_int_equal(json_object_end(&w), -EINVAL); /* key, no value */
	buf_free(&b);

	json_init(&w, &b, 0);
	assert_int_equal(json_finish(&w), -EINVAL); /* nothing written */
	json_object_begin(&w);
	assert_int_equal(json_finish(&w), -EINVAL); /* still open */
	buf_free(&b);
}

static void test_depth(void **state)
{
	(void)state;
	for (int i = 0; i < JSON_MAX_DEPTH; i++)
		assert_int_equal(json_array_begin(&j), 0);
	assert_int_equal(json_array_begin(&j), -E2BIG);
	assert_int_equal(json_finish(&j), -E2BIG);

	struct buf b = {0};
	struct json w;
	json_init(&w, &b, 0);
	for (int i = 0; i < JSON_MAX_DEPTH; i++) {
		json_object_begin(&w);
		json_key(&w, "k");
	}
	json_null(&w);
	for (int i = 0; i < JSON_MAX_DEPTH; i++)
		json_object_end(&w);
	assert_int_equal(json_finish(&w), 0);
	assert_int_equal(b.len, JSON_MAX_DEPTH * 6 + 4);
	buf_free(&b);
}

static void test_commas(void **state)
{
	(void)state;
	json_array_begin(&j);
	for (int i = 0; i < 3; i++) {
		json_array_begin(&j);
		for (int k = 0; k < i; k++)
			json_int(&j, k);
		json_array_end(&j);
	}
	json_object_begin(&j);
	json_key(&j, "a");
	json_array_begin(&j);
	json_array_end(&j);
	json_key(&j, "b");
	json_object_begin(&j);
	json_object_end(&j);
	json_object_end(&j);
	json_array_end(&j);
	assert_int_equal(json_finish(&j), 0);
	assert_string_equal(out.data, "[[],[0],[0,1],{\"a\":[],\"b\":{}}]");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_compact, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pretty, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_scalar_top_level, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_numbers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_null_string, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_control_chars, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_quote_backslash, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_utf8_passthrough, setup,
					    teardown),
	    cmocka_unit_test(test_utf8_invalid),
	    cmocka_unit_test_setup_teardown(test_misuse, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_depth, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_commas, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
