/* Replacing files with care (lib/core/file.c): the one way mailsec writes
 * a file in place (`conf generate --apply`, `cert bundle`).
 *
 * Each new file is staged: created next to the file it replaces under a
 * unique name (TARGET.mailsec-new.PID.XXXXXX, O_EXCL, mode 0600), given the
 * owner, group and mode of the file it replaces before its first byte is
 * written, written, and synced. Only when every file of a transaction is
 * staged are they renamed over their targets, one by one; the file replaced
 * is first hard-linked to TARGET.mailsec-bak.N (N one more than the highest
 * there), so the backup is the original itself (content, owner, mode) and
 * costs no space. When a rename fails, the files already replaced are put
 * back from their backups, and the error names every file and its state.
 *
 * A symlink is followed to the file it names, which is replaced next to
 * itself (the link stays a link), except a link in a sticky world-writable
 * directory (/tmp) owned by neither the caller nor the directory's owner:
 * the kernel's protected_symlinks rule, which resolving by hand would
 * otherwise bypass. A dangling link, a target that is not a regular file
 * and more than 40 links are refused. Staging files left by a run that was
 * killed (its PID is gone) are removed by the next run. */
#ifndef MAILSEC_LIB_CORE_FILE_H
#define MAILSEC_LIB_CORE_FILE_H

#include "mailsec/core.h"

#include <stddef.h>
#include <sys/types.h>

enum { MS_FILE_TXN_MAX = 8 }; /* files in one transaction */

typedef struct ms_file_opts {
    mode_t new_mode; /* the mode when the file does not exist yet */
    /* The file holds a secret (a private key): when the file it replaces
     * was readable by everyone (it held no secret), the mode becomes 0600
     * instead of that file's. */
    int secret;
    /* Keep the file replaced as TARGET.mailsec-bak.N. A transaction of
     * more than one file keeps them whatever this says: it needs them to
     * put files back. */
    int backup;
} ms_file_opts;

typedef enum ms_file_state {
    MS_FILE_STAGED,       /* the target is as it was; the new content waits */
    MS_FILE_REPLACED,     /* the target has the new content */
    MS_FILE_PUT_BACK,     /* replaced, then put back as it was */
    MS_FILE_NOT_PUT_BACK  /* replaced, and putting it back failed */
} ms_file_state;

typedef struct ms_file_change {
    char *path;    /* as the caller named it */
    char *target;  /* path with its symlinks followed: the file replaced */
    char *staged;  /* the new content while it waits, else NULL */
    char *backup;  /* TARGET.mailsec-bak.N once made, else NULL */
    int existed;   /* there was a file to replace */
    dev_t dev;     /* the file replaced, when it existed */
    ino_t ino;
    ms_file_state state;
    int keep_backup;
} ms_file_change;

typedef struct ms_file_txn {
    ms_file_change files[MS_FILE_TXN_MAX];
    size_t count;
    char *error; /* why the transaction failed, and the state of each file */
} ms_file_txn;

void ms_file_txn_init(ms_file_txn *t);
/* Stages data as the new content of path. On failure nothing on disk has
 * changed, t->error says why, and the transaction can only be freed. */
ms_status ms_file_txn_stage(ms_file_txn *t, const char *path, const char *data, size_t len,
                            const ms_file_opts *opts);
/* Replaces every staged file, or none: on failure the files already
 * replaced are put back and t->error names each file and its state. */
ms_status ms_file_txn_commit(ms_file_txn *t);
/* Removes the staging files of a transaction that was not committed. */
void ms_file_txn_free(ms_file_txn *t);

/* A transaction of one file. *error (allocated) says why on failure. */
ms_status ms_file_replace(const char *path, const char *data, size_t len, const ms_file_opts *opts,
                          char **error);

#endif
