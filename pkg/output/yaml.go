package output

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/util/annotations"
	yaml "go.yaml.in/yaml/v3"
)

// WriteYAML writes the response WriteJSON writes, as YAML. It converts the JSON token by token so
// that keys keep the API's order (status first) and numbers their exact text; [time, value]
// pairs and histogram buckets are written inline, one per line.
func WriteYAML(w io.Writer, v parser.Value, query string, annos annotations.Annotations, extraWarnings []string) error {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, v, query, annos, extraWarnings); err != nil {
		return err
	}
	dec := json.NewDecoder(&buf)
	dec.UseNumber()
	doc, err := yamlNode(dec)
	if err != nil {
		return fmt.Errorf("converting to YAML: %w", err)
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return err
	}
	return enc.Close()
}

// yamlNode reads one JSON value from dec.
func yamlNode(dec *json.Decoder) (*yaml.Node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		n := &yaml.Node{Kind: yaml.MappingNode}
		if t == '[' {
			n.Kind = yaml.SequenceNode
		}
		for dec.More() {
			if n.Kind == yaml.MappingNode {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k.(string)})
			}
			c, err := yamlNode(dec)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, c)
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
		if n.Kind == yaml.SequenceNode && inline(n.Content) {
			n.Style = yaml.FlowStyle
		}
		return n, nil
	case string:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: t}, nil
	case json.Number:
		// Untagged, so the number prints as the JSON had it.
		return &yaml.Node{Kind: yaml.ScalarNode, Value: t.String()}, nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(t)}, nil
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}

// inline reports whether a sequence reads best on one line: a point or a histogram bucket, all
// scalars and led by a number.
func inline(items []*yaml.Node) bool {
	if len(items) == 0 || items[0].Tag != "" {
		return false
	}
	for _, it := range items {
		if it.Kind != yaml.ScalarNode {
			return false
		}
	}
	return true
}
