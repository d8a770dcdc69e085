/* ini.c - a small reader of INI files: sections, keys and values. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ini.h"

#define MAX_LINE 512

struct ini_entry {
    char *section;
    char *key;
    char *value;
    struct ini_entry *next;
};

static char *trim(char *s)
{
    char *end;

    while (isspace((unsigned char)*s))
        s++;
    if (*s == '\0')
        return s;
    end = s + strlen(s) - 1;
    while (end > s && isspace((unsigned char)*end))
        end--;
    end[1] = '\0';
    return s;
}

static int add_entry(struct ini *ini, const char *section, const char *key, const char *value)
{
    struct ini_entry *e = calloc(1, sizeof(*e));

    if (e == NULL)
        return -1;
    e->section = strdup(section);
    e->key = strdup(key);
    e->value = strdup(value);
    e->next = ini->entries;
    ini->entries = e;
    return 0;
}

static int parse_line(struct ini *ini, char *line, char *section, size_t section_size)
{
    char *s = trim(line);
    char *eq;

    if (*s == ';' || *s == '#' || *s == '\0')
        return 0;
    if (*s == '[') {
        char *close = strchr(s, ']');

        if (close == NULL)
            return -1;
        *close = '\0';
        snprintf(section, section_size, "%s", trim(s + 1));
        return 0;
    }
    eq = strchr(s, '=');
    if (eq == NULL)
        return -1;
    *eq = '\0';
    return add_entry(ini, section, trim(s), trim(eq + 1));
}

int ini_load(struct ini *ini, FILE *f)
{
    char line[MAX_LINE];
    char section[MAX_LINE] = "";
    int lineno = 0;

    while (fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        if (parse_line(ini, line, section, sizeof(section)) < 0)
            return lineno;
    }
    return 0;
}

const char *ini_get(const struct ini *ini, const char *section, const char *key)
{
    const struct ini_entry *e;

    for (e = ini->entries; e != NULL; e = e->next)
        if (strcmp(e->section, section) == 0 && strcmp(e->key, key) == 0)
            return e->value;
    return NULL;
}

void ini_free(struct ini *ini)
{
    struct ini_entry *e = ini->entries;

    while (e != NULL) {
        struct ini_entry *next = e->next;

        free(e->section);
        free(e->key);
        free(e->value);
        free(e);
        e = next;
    }
    ini->entries = NULL;
}
