/* lib/buf: growth, termination, formatting and the failure contract. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"

static void test_zero_is_empty(void **state)
{
	struct buf b = {0};
	(void)state;
	assert_null(b.data);
	assert_string_equal(buf_str(&b), "");
	buf_reset(&b); /* valid on a never-used buffer */
	buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
}

static void test_append_terminates(void **state)
{
	struct buf b = {0};
	(void)state;
	assert_int_equal(buf_append(&b, "abc", 3), 0);
	assert_int_equal(b.len, 3);
	assert_string_equal(b.data, "abc");
	assert_int_equal(buf_putc(&b, 'd'), 0);
	assert_int_equal(buf_puts(&b, "ef"), 0);
	assert_string_equal(b.data, "abcdef");
	assert_int_equal(b.len, 6);
	assert_true(b.cap > b.len);
	assert_int_equal(buf_append(&b, "", 0), 0);
	assert_string_equal(b.data, "abcdef");
	buf_free(&b);

	/* An empty append still makes data a C string. */
	assert_int_equal(buf_append(&b, NULL, 0), 0);
	assert_non_null(b.data);
	assert_string_equal(b.data, "");
	buf_free(&b);
}

static void test_growth(void **state)
{
	struct buf b = {0};
	(void)state;
	for (int i = 0; i < 100000; i++)
		assert_int_equal(buf_putc(&b, (char)('a' + i % 26)), 0);
	assert_int_equal(b.len, 100000);
	assert_int_equal(b.data[b.len], '\0');
	for (int i = 0; i < 100000; i++)
		assert_int_equal(b.data[i], 'a' + i % 26);
	buf_free(&b);
}

static void test_binary(void **state)
{
	struct buf b = {0};
	(void)state;
	assert_int_equal(buf_append(&b, "a\0b", 3), 0);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "a\0b", 4);
	buf_free(&b);
}

static void test_printf(void **state)
{
	struct buf b = {0};
	char big[5000];
	(void)state;

	assert_int_equal(buf_printf(&b, "%d-%s", 42, "x"), 0);
	assert_string_equal(b.data, "42-x");
	/* Longer than the spare room: the second pass after growing. */
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(buf_printf(&b, "[%s]", big), 0);
	assert_int_equal(b.len, 4 + 2 + 4999);
	assert_int_equal(b.data[5], 'z');
	assert_int_equal(b.data[b.len - 1], ']');
	assert_int_equal(b.data[b.len], '\0');
	/* Exactly filling the room leaves space for the NUL. */
	buf_free(&b);
	for (int i = 1; i < 200; i++) {
		buf_reset(&b);
		assert_int_equal(buf_printf(&b, "%.*s", i, big), 0);
		assert_int_equal(b.len, (size_t)i);
		assert_int_equal(b.data[i], '\0');
	}
	assert_int_equal(buf_printf(&b, "%s", ""), 0);
	buf_free(&b);
}

static void test_reset_keeps_memory(void **state)
{
	struct buf b = {0};
	(void)state;
	assert_int_equal(buf_puts(&b, "hello, world"), 0);
	char *data = b.data;
	size_t cap = b.cap;
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_ptr_equal(b.data, data);
	assert_int_equal(b.cap, cap);
	assert_string_equal(b.data, "");
	assert_int_equal(buf_puts(&b, "again"), 0);
	assert_string_equal(b.data, "again");
	buf_free(&b);
}

static void test_failure_leaves_buffer(void **state)
{
	struct buf b = {0};
	(void)state;
	assert_int_equal(buf_puts(&b, "keep"), 0);
	assert_int_equal(buf_append(&b, "x", SIZE_MAX), -ENOMEM);
	assert_int_equal(buf_append(&b, "x", SIZE_MAX - 4), -ENOMEM);
	assert_int_equal(buf_reserve(&b, SIZE_MAX / 2 + 1), -ENOMEM);
	assert_int_equal(buf_reserve(&b, PTRDIFF_MAX - 4), -ENOMEM);
	assert_int_equal(b.len, 4);
	assert_string_equal(b.data, "keep");
	buf_free(&b);
}

static void test_reserve(void **state)
{
	struct buf b = {0};
	(void)state;
	assert_int_equal(buf_reserve(&b, 1000), 0);
	assert_true(b.cap >= 1001);
	assert_string_equal(b.data, "");
	char *data = b.data;
	for (int i = 0; i < 1000; i++)
		assert_int_equal(buf_putc(&b, 'x'), 0);
	assert_ptr_equal(b.data, data); /* no move within the reservation */
	buf_free(&b);
}

static void expect_double(double v, const char *text)
{
	struct buf b = {0};
	assert_int_equal(buf_put_double(&b, v), 0);
	assert_string_equal(b.data, text);
	buf_free(&b);
}

static void test_double(void **state)
{
	(void)state;
	expect_double(0, "0");
	expect_double(12345678, "12345678");
	expect_double(-42, "-42");
	expect_double(9007199254740991.0, "9007199254740991");
	expect_double(9007199254740992.0, "9007199254740992");
	expect_double(1e20, "1e+20");
	expect_double(0.1, "0.1");
	expect_double(0.5, "0.5");
	expect_double(-2.25, "-2.25");
	expect_double(1.0 / 3, "0.3333333333333333");
	expect_double(5e-324, "4.94065645841247e-324");
	expect_double(1.7976931348623157e308, "1.7976931348623157e+308");
	expect_double(INFINITY, "inf");
	/* Every shortest form reads back exactly. */
	for (double v = 1e-9; v < 1e9; v *= 1.37) {
		struct buf b = {0};
		assert_int_equal(buf_put_double(&b, v), 0);
		assert_true(strtod(b.data, NULL) == v);
		buf_free(&b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_zero_is_empty),
	    cmocka_unit_test(test_append_terminates),
	    cmocka_unit_test(test_growth),
	    cmocka_unit_test(test_binary),
	    cmocka_unit_test(test_printf),
	    cmocka_unit_test(test_reset_keeps_memory),
	    cmocka_unit_test(test_failure_leaves_buffer),
	    cmocka_unit_test(test_reserve),
	    cmocka_unit_test(test_double),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
