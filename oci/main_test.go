package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// builtModule is the plugin that `make build` wrote; `make unit` builds it
// before running this test.
func builtModule(t *testing.T) (path string, module []byte) {
	t.Helper()
	path = filepath.Join("..", "dist", "tokenmeter.wasm")
	module, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run `make build` first)", err)
	}
	return path, module
}

// TestPackage runs the command as `make oci` does, plus a push to a
// registry on loopback, and reads the image back from both places: each
// copy must be the compat-variant image with the module as plugin.wasm,
// and both must have the same digest.
func TestPackage(t *testing.T) {
	wasmPath, module := builtModule(t)
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	pushRef := strings.TrimPrefix(reg.URL, "http://") + "/tokenmeter:test"
	dir := filepath.Join(t.TempDir(), "oci")

	var out bytes.Buffer
	if err := run([]string{"-wasm", wasmPath, "-layout", dir, "-tag", "test", "-push", pushRef}, &out); err != nil {
		t.Fatal(err)
	}
	t.Log(out.String())

	fromLayout := func(t *testing.T) v1.Image {
		idx, err := layout.ImageIndexFromPath(dir)
		if err != nil {
			t.Fatal(err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		if len(im.Manifests) != 1 || im.Manifests[0].Annotations[refNameAnnotation] != "test" {
			t.Fatalf("layout index holds %+v, want one image named test", im.Manifests)
		}
		img, err := idx.Image(im.Manifests[0].Digest)
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	fromRegistry := func(t *testing.T) v1.Image {
		ref, err := name.ParseReference(pushRef)
		if err != nil {
			t.Fatal(err)
		}
		img, err := remote.Image(ref)
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	want, err := Image(module)
	if err != nil {
		t.Fatal(err)
	}
	wantDigest, _ := want.Digest()
	for _, tc := range []struct {
		name string
		read func(*testing.T) v1.Image
	}{
		{"layout", fromLayout},
		{"registry", fromRegistry},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := tc.read(t)
			if err := validate.Image(img); err != nil {
				t.Fatalf("image does not validate: %v", err)
			}
			if d, _ := img.Digest(); d != wantDigest {
				t.Errorf("manifest digest %s, want %s", d, wantDigest)
			}
			checkCompat(t, img, module)
			got, err := fetchLikeIstio(img)
			if err != nil {
				t.Fatalf("a fetcher following Istio's and Envoy Gateway's rules refuses the image: %v", err)
			}
			if !bytes.Equal(got, module) {
				t.Fatalf("fetched module: %d bytes, want the %d bytes of %s", len(got), len(module), wasmPath)
			}
		})
	}
}

// checkCompat checks the manifest, the config and the one layer field by
// field, and recomputes every digest from the bytes.
func checkCompat(t *testing.T, img v1.Image, module []byte) {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON {
		t.Errorf("manifest %s with config %s, want %s with %s", m.MediaType, m.Config.MediaType, types.OCIManifestSchema1, types.OCIConfigJSON)
	}
	if m.Annotations[VariantAnnotation] != "compat" {
		t.Errorf("annotations %v, want %s=compat", m.Annotations, VariantAnnotation)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OS != "wasip1" || cfg.Architecture != "wasm" || !cfg.Created.IsZero() {
		t.Errorf("config os %q arch %q created %v, want wasip1, wasm and no time", cfg.OS, cfg.Architecture, cfg.Created)
	}
	if len(m.Layers) != 1 {
		t.Fatalf("%d layers, want 1", len(m.Layers))
	}
	desc := m.Layers[0]
	if desc.MediaType != types.OCILayer {
		t.Errorf("layer media type %s, want %s", desc.MediaType, types.OCILayer)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	compressed := readAll(t, layers[0].Compressed)
	if got := sha(compressed); desc.Digest.String() != got || desc.Size != int64(len(compressed)) {
		t.Errorf("layer descriptor %s (%d bytes), blob is %s (%d bytes)", desc.Digest, desc.Size, got, len(compressed))
	}
	uncompressed := readAll(t, layers[0].Uncompressed)
	if got := sha(uncompressed); len(cfg.RootFS.DiffIDs) != 1 || cfg.RootFS.DiffIDs[0].String() != got {
		t.Errorf("config diff_ids %v, uncompressed layer is %s", cfg.RootFS.DiffIDs, got)
	}
	tr := tar.NewReader(bytes.NewReader(uncompressed))
	hdr, err := tr.Next()
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(tr)
	if hdr.Name != PluginFile || sha(body) != sha(module) {
		t.Errorf("layer holds %s %s, want %s %s", hdr.Name, sha(body), PluginFile, sha(module))
	}
	if _, err := tr.Next(); err != io.EOF {
		t.Errorf("layer holds more than %s", PluginFile)
	}
}

// fetchLikeIstio extracts the module the way Istio's and Envoy Gateway's
// image fetchers take a compat-variant image: an OCI (not Docker) manifest,
// the last layer a gzip tar of media type OCILayer, the module in an entry
// named plugin.wasm.
func fetchLikeIstio(img v1.Image) ([]byte, error) {
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	if m.MediaType == types.DockerManifestSchema2 {
		return nil, fmt.Errorf("Docker manifest: the fetchers would want a Docker layer")
	}
	layers, err := img.Layers()
	if err != nil || len(layers) == 0 {
		return nil, fmt.Errorf("no layers (%v)", err)
	}
	last := layers[len(layers)-1]
	if mt, _ := last.MediaType(); mt != types.OCILayer {
		return nil, fmt.Errorf("last layer is %s", mt)
	}
	rc, err := last.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	gz, err := gzip.NewReader(rc)
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if err != nil {
			return nil, fmt.Errorf("no %s in the layer (%v)", PluginFile, err)
		}
		if filepath.Base(hdr.Name) == PluginFile {
			return io.ReadAll(tr)
		}
	}
}

// TestImageReproducible: packaging the same module twice gives the same
// manifest digest, so a tag can be re-pushed without churn and pinned by
// digest in a WasmPlugin.
func TestImageReproducible(t *testing.T) {
	_, module := builtModule(t)
	var digests []v1.Hash
	for range 2 {
		img, err := Image(module)
		if err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, d)
	}
	if digests[0] != digests[1] {
		t.Fatalf("digests differ: %v", digests)
	}
}

func TestRunErrors(t *testing.T) {
	wasmPath, _ := builtModule(t)
	dir := t.TempDir()
	notWasm := filepath.Join(dir, "not.wasm")
	if err := os.WriteFile(notWasm, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"missing module", []string{"-wasm", filepath.Join(dir, "none.wasm")}, "make build"},
		{"not a module", []string{"-wasm", notWasm, "-layout", filepath.Join(dir, "out")}, "not a Wasm module"},
		{"stray argument", []string{"extra"}, "unexpected arguments"},
		{"bad push reference", []string{"-wasm", wasmPath, "-layout", "", "-push", "UPPER/case"}, "could not parse reference"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := run(tc.args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func readAll(t *testing.T, open func() (io.ReadCloser, error)) []byte {
	t.Helper()
	rc, err := open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
