package project

import "golang.org/x/sys/unix"

// lockAttr names the attribute that locks path against change even for root, as chattr sets
// it: 'i' (immutable: no writing, renaming or deleting it, nor, for a folder, its entries) or
// 'a' (append-only: no renaming or deleting it, nor, for a folder, removing entries); 0 when it
// has neither or they cannot be read (a missing path, a file system or kernel without them).
func lockAttr(path string) byte {
	var st unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, path, unix.AT_SYMLINK_NOFOLLOW, 0, &st); err != nil {
		return 0
	}
	// Attributes_mask says which of Attributes the file system reports.
	attrs := st.Attributes & st.Attributes_mask
	switch {
	case attrs&unix.STATX_ATTR_IMMUTABLE != 0:
		return 'i'
	case attrs&unix.STATX_ATTR_APPEND != 0:
		return 'a'
	}
	return 0
}
