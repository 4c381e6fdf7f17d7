// Command oci packages dist/tokenmeter.wasm as an OCI image that Istio's
// WasmPlugin (spec.url: oci://…) and Envoy Gateway's EnvoyExtensionPolicy
// (wasm code type Image) can pull, writes it as an OCI image layout
// directory, and optionally pushes it to a registry. `make oci` runs it.
//
// Layout of the image: the "compat" variant of the Wasm image
// specification, the one both fetchers accept with a single layer. The
// manifest is an OCI image manifest (annotation
// module.wasm.image/variant=compat) with an OCI image config and exactly one
// layer of media type application/vnd.oci.image.layer.v1.tar+gzip holding
// one file, plugin.wasm. Istio (pkg/wasm/imagefetcher.go) and Envoy Gateway
// (internal/wasm/imagefetcher.go) try that variant first; their other
// accepted shape, the artifact variant with media type
// application/vnd.module.wasm.content.layer.v1+wasm, is only accepted with
// exactly two layers, so a single-layer artifact would be refused by both.
//
// The image is reproducible: the tar entry has a fixed mode, owner and
// time, and the config carries no creation time, so the same module always
// gives the same digests.
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Names the fetchers look for.
const (
	// PluginFile is the file the compat variant's layer must hold.
	PluginFile = "plugin.wasm"
	// VariantAnnotation marks the manifest as the compat variant.
	VariantAnnotation = "module.wasm.image/variant"
	// refNameAnnotation names an image inside an OCI layout's index.
	refNameAnnotation = "org.opencontainers.image.ref.name"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "oci:", err)
		os.Exit(1)
	}
}

// run is the command: flags in, a summary line per output written to out.
func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("oci", flag.ContinueOnError)
	wasmPath := fs.String("wasm", "dist/tokenmeter.wasm", "the Wasm module to package")
	layoutDir := fs.String("layout", "dist/oci", "OCI image layout directory to (re)write; empty to skip")
	tag := fs.String("tag", "latest", "reference name of the image inside the layout")
	push := fs.String("push", "", "registry reference to push to as well, e.g. registry.example.com/tokenmeter:v1 (credentials from the Docker config)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	module, err := os.ReadFile(*wasmPath)
	if err != nil {
		return fmt.Errorf("%w (run `make build`)", err)
	}
	img, err := Image(module)
	if err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	if *layoutDir != "" {
		if err := WriteLayout(*layoutDir, *tag, img); err != nil {
			return err
		}
		fmt.Fprintf(out, "wrote %s (OCI image layout, %s, manifest %s)\n", *layoutDir, *tag, digest)
	}
	if *push != "" {
		ref, err := name.ParseReference(*push)
		if err != nil {
			return err
		}
		if err := remote.Write(ref, img, remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
			return fmt.Errorf("pushing %s: %w", ref, err)
		}
		fmt.Fprintf(out, "pushed %s@%s\n", ref, digest)
	}
	return nil
}

// Image builds the compat-variant image holding module as plugin.wasm.
func Image(module []byte) (v1.Image, error) {
	if !bytes.HasPrefix(module, []byte("\x00asm")) {
		return nil, errors.New("not a Wasm module (no \\0asm magic)")
	}
	layerTar, err := singleFileTar(PluginFile, module)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "wasip1", "wasm"
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return nil, err
	}
	if img, err = mutate.AppendLayers(img, layer); err != nil {
		return nil, err
	}
	return mutate.Annotations(img, map[string]string{VariantAnnotation: "compat"}).(v1.Image), nil
}

// singleFileTar is a tar archive with one regular file whose metadata does
// not depend on the machine or the time, so the layer digest is stable.
func singleFileTar(name string, data []byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdr := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     name,
		Mode:     0o644,
		Size:     int64(len(data)),
		ModTime:  time.Unix(0, 0),
		Format:   tar.FormatUSTAR,
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, err
	}
	if _, err := tw.Write(data); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteLayout writes dir as a fresh OCI image layout whose index holds img
// under the reference name tag, replacing whatever dir held.
func WriteLayout(dir, tag string, img v1.Image) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	return p.AppendImage(img, layout.WithAnnotations(map[string]string{refNameAnnotation: tag}))
}
