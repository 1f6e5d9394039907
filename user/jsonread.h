/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A small strict JSON reader for what netfence itself writes (events.jsonl,
 * run.json): one document into caller-provided nodes and one string buffer,
 * no allocation. Strings are decoded (escapes, \u with surrogate pairs to
 * UTF-8); a \u0000, a raw control character, bad UTF-8 escapes, trailing
 * text or nesting deeper than JR_MAX_DEPTH are errors.
 */
#ifndef NETFENCE_JSONREAD_H
#define NETFENCE_JSONREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JR_MAX_DEPTH 16

enum jr_type { JR_NULL, JR_BOOL, JR_NUM, JR_STR, JR_ARR, JR_OBJ };

struct jr_node {
	enum jr_type type;
	const char *key;	/* member name inside an object, else NULL */
	const char *str;	/* JR_STR: decoded, NUL-terminated */
	double num;		/* JR_NUM */
	uint64_t u;		/* JR_NUM that is a non-negative integer */
	bool is_uint;
	bool b;			/* JR_BOOL */
	int child;		/* JR_ARR/JR_OBJ: first element, -1 if none */
	int next;		/* next sibling, -1 if none */
};

struct jr_doc {
	struct jr_node *nodes;	/* nodes[0] is the root */
	int n, cap;
	char *buf;		/* decoded strings; len + 8 bytes are enough */
	size_t used, bufcap;
};

/*
 * Parses s[0..len) into d (nodes and buf set by the caller, n and used are
 * reset). Returns 0, -EINVAL (not JSON) or -E2BIG (out of nodes or buffer).
 */
int jr_parse(struct jr_doc *d, const char *s, size_t len);

/* Member key of object node obj, or NULL. */
const struct jr_node *jr_get(const struct jr_doc *d, const struct jr_node *obj,
			     const char *key);
/* The string of member key, or NULL when absent or not a string. */
const char *jr_get_str(const struct jr_doc *d, const struct jr_node *obj,
		       const char *key);
/* Next sibling / first child, or NULL. */
const struct jr_node *jr_next(const struct jr_doc *d, const struct jr_node *n);
const struct jr_node *jr_child(const struct jr_doc *d, const struct jr_node *n);

#endif /* NETFENCE_JSONREAD_H */
