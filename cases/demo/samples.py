"""Sample texts for simulated cases: subjects and descriptions per category, customer names,
and the mix of intake channels."""

from __future__ import annotations

from cases.choices import Category, ChannelKind

SUBJECTS = {
    Category.PRODUCT_QUALITY: [
        ("电水壶使用两次后底座冒烟", "The kettle base smoked after two uses"),
        ("儿童座椅卡扣断裂", "Child seat buckle snapped"),
        ("新买的手机屏幕出现亮线", "New phone screen shows a bright line"),
    ],
    Category.AFTER_SALES: [
        ("维修三次仍未修好", "Repaired three times and still broken"),
        ("退货申请一周无人处理", "Return request ignored for a week"),
    ],
    Category.FALSE_ADVERTISING: [
        ("宣传的续航时间与实际严重不符", "Advertised battery life is far from real"),
        ("页面标注包邮，结算时收取运费", "Page said free shipping, checkout charged it"),
    ],
    Category.DELIVERY: [
        ("订单未按时送达", "Order not delivered on time"),
        ("快递显示已签收但未收到货", "Tracking says delivered but nothing arrived"),
        ("包裹破损，商品受损", "Parcel damaged, goods broken"),
    ],
    Category.BILLING: [
        ("重复扣款两次", "Charged twice for one order"),
        ("会员自动续费未经同意", "Membership renewed without consent"),
    ],
    Category.SERVICE_ATTITUDE: [
        ("门店店员态度恶劣", "Store clerk was rude"),
        ("客服电话中途挂断", "Hotline agent hung up mid-call"),
    ],
    Category.UNFULFILLED_PROMISE: [
        ("承诺的赠品一直未发放", "Promised gift never sent"),
        ("答应的退款至今未到账", "Promised refund never arrived"),
    ],
    Category.OTHER: [
        ("发票信息错误", "Wrong details on the invoice"),
        ("账户无法登录", "Cannot log in to my account"),
    ],
}
DESCRIPTIONS = [
    "客户来电表示非常不满，要求尽快给出处理方案。",
    "客户称已多次联系未果，希望公司重视。",
    "The customer says this is the second time it happened and wants a refund.",
    "客户提供了照片和订单截图，情绪较激动。",
    "Customer asked for a call back in the evening after 6 pm.",
]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = ["芳", "伟", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "超", "霞"]
ENGLISH = ["Emma Li", "James Wang", "Olivia Chen", "Lucas Zhang", "Mia Liu", "Noah Zhao"]

CHANNEL_WEIGHTS = [
    (ChannelKind.HOTLINE, 30), (ChannelKind.WEB, 18), (ChannelKind.APP, 16),
    (ChannelKind.WECHAT, 10), (ChannelKind.WEIBO, 4), (ChannelKind.EMAIL, 8),
    (ChannelKind.WALK_IN, 7), (ChannelKind.CALL_CENTRE, 5), (ChannelKind.LETTER, 2),
]
