from odoo import models


class ChatbotScriptStep(models.Model):
    _inherit = "chatbot.script.step"

    def _process_step_forward_operator(self, discuss_channel):
        """The chatbot hands the visitor over: our ACD chooses the operator
        (im_livechat.channel._get_operator) for this session's visitor, and
        the session becomes an interaction, offered to that operator, or
        missed when nobody is available (the script then goes on)."""
        link = discuss_channel._chat_link()
        if not link:
            return super()._process_step_forward_operator(discuss_channel)
        # sudo: the visitor may not read the session's members; their partners only
        before = discuss_channel.sudo().channel_member_ids.partner_id
        result = super(
            ChatbotScriptStep, self.with_context(omnichannel_discuss_channel_id=discuss_channel.id)
        )._process_step_forward_operator(discuss_channel)
        # sudo: as above, to find the operator im_livechat added
        added = discuss_channel.sudo().channel_member_ids.partner_id - before
        operator = added.user_ids[:1]
        if operator:
            discuss_channel._chat_start(operator)
        else:
            discuss_channel._chat_missed()
        return result
