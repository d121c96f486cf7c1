// tlogcheck verifies an Approvals checkpoint and proofs with Go's golang.org/x/mod
// sumdb/note and sumdb/tlog packages: an implementation that shares no code with ours.
//
//	tlogcheck VERIFIER_KEY CHECKPOINT_FILE LEAF_FILE INDEX INCLUSION_PROOF_FILE [OLD_CHECKPOINT_FILE CONSISTENCY_PROOF_FILE]
//
// Proof files hold one base64 hash per line, as the service serves them. Exit 0 and
// "ok" when everything verifies; otherwise exit 1 with the reason.
package main

import (
	"encoding/base64"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

func read(path string) []byte {
	data, err := os.ReadFile(path)
	if err != nil {
		fail("read %s: %v", path, err)
	}
	return data
}

// openCheckpoint verifies the signed note and parses the C2SP tlog-checkpoint body:
// origin line, decimal tree size, base64 root hash, optional extension lines.
func openCheckpoint(verifiers note.Verifiers, path string) (string, tlog.Tree) {
	n, err := note.Open(read(path), verifiers)
	if err != nil {
		fail("checkpoint %s: %v", path, err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 {
		fail("checkpoint %s: too few lines", path)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 {
		fail("checkpoint %s: bad size %q", path, lines[1])
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		fail("checkpoint %s: bad root hash: %v", path, err)
	}
	return lines[0], tlog.Tree{N: size, Hash: root}
}

func hashes(path string) []tlog.Hash {
	var out []tlog.Hash
	for _, line := range strings.Fields(string(read(path))) {
		raw, err := base64.StdEncoding.DecodeString(line)
		if err != nil || len(raw) != tlog.HashSize {
			fail("%s: bad hash %q", path, line)
		}
		var h tlog.Hash
		copy(h[:], raw)
		out = append(out, h)
	}
	return out
}

func main() {
	if len(os.Args) != 6 && len(os.Args) != 8 {
		fail("usage: tlogcheck KEY CHECKPOINT LEAF INDEX PROOF [OLD_CHECKPOINT CONSISTENCY_PROOF]")
	}
	verifier, err := note.NewVerifier(strings.TrimSpace(os.Args[1]))
	if err != nil {
		fail("verifier key: %v", err)
	}
	verifiers := note.VerifierList(verifier)
	origin, tree := openCheckpoint(verifiers, os.Args[2])
	if origin != verifier.Name() {
		fail("checkpoint origin %q is not the key name %q", origin, verifier.Name())
	}
	index, err := strconv.ParseInt(os.Args[4], 10, 64)
	if err != nil {
		fail("index: %v", err)
	}
	leaf := tlog.RecordHash(read(os.Args[3]))
	if err := tlog.CheckRecord(hashes(os.Args[5]), tree.N, tree.Hash, index, leaf); err != nil {
		fail("inclusion: %v", err)
	}
	if len(os.Args) == 8 {
		_, old := openCheckpoint(verifiers, os.Args[6])
		if err := tlog.CheckTree(hashes(os.Args[7]), tree.N, tree.Hash, old.N, old.Hash); err != nil {
			fail("consistency: %v", err)
		}
	}
	fmt.Println("ok")
}
