package mailer

import (
	"fmt"
	"slices"
	"strings"
	"text/template/parse"
)

// checkNodes walks a template's parse tree and returns what is wrong with
// it, or "". Unknown placeholders are found here rather than by executing,
// so that a field inside an {{if}} branch the sample data skips is caught too.
func checkNodes(root *parse.ListNode) string {
	var problem string
	var walk func(parse.Node)
	walk = func(node parse.Node) {
		if problem != "" {
			return
		}
		switch n := node.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c)
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n == nil {
				return
			}
			for _, c := range n.Cmds {
				walk(c)
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				walk(a)
			}
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			problem = "{{range}} is not supported"
		case *parse.TemplateNode:
			problem = "{{template}} is not supported"
		case *parse.ChainNode:
			walk(n.Node)
		case *parse.FieldNode:
			problem = checkField(n.Ident)
		case *parse.VariableNode:
			if len(n.Ident) > 1 && n.Ident[0] == "$" {
				problem = checkField(n.Ident[1:])
			}
		case *parse.IdentifierNode:
			if !allowedFuncs[n.Ident] {
				problem = fmt.Sprintf("function %q is not supported", n.Ident)
			}
		}
	}
	walk(root)
	return problem
}

func checkField(ident []string) string {
	if slices.Contains(Placeholders, ident[0]) {
		return ""
	}
	known := make([]string, len(Placeholders))
	for i, p := range Placeholders {
		known[i] = "{{." + p + "}}"
	}
	return fmt.Sprintf("unknown placeholder {{.%s}}; use %s", strings.Join(ident, "."), strings.Join(known, " "))
}
